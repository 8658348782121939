#include "client/cli/command_line.h"

#include <gtest/gtest.h>

#include "client/cli/flags.h"

namespace shardkv::cli {
namespace {

using std::chrono::milliseconds;

StatusOr<CommandLine> Parse(std::vector<std::string> args,
                            const std::string& env = "") {
  return ParseCommandLine(args, env);
}

template <typename T>
T Expect(const StatusOr<CommandLine>& parsed) {
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  const T* c = std::get_if<T>(&parsed->command);
  EXPECT_NE(c, nullptr);
  return c ? *c : T{};
}

TEST(FlagsTest, LongShortInlineAndTerminator) {
  std::vector<FlagSpec> specs = {{"ttl"}, {"verbose", false, 'v'}};
  auto f = ParseFlags({"a", "--ttl=5s", "-v", "--", "--not-a-flag"}, specs);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->positional, (std::vector<std::string>{"a", "--not-a-flag"}));
  EXPECT_EQ(f->Get("ttl"), "5s");
  EXPECT_TRUE(f->Has("verbose"));
}

TEST(FlagsTest, Errors) {
  std::vector<FlagSpec> specs = {{"ttl"}, {"load", false}};
  EXPECT_FALSE(ParseFlags({"--nope"}, specs).ok());
  EXPECT_FALSE(ParseFlags({"--ttl"}, specs).ok());
  EXPECT_FALSE(ParseFlags({"--ttl", "1s", "--ttl", "2s"}, specs).ok());
  EXPECT_FALSE(ParseFlags({"--load=yes"}, specs).ok());
  // A negative number is a value, not a flag.
  auto f = ParseFlags({"-5"}, specs);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->positional.at(0), "-5");
}

TEST(FlagsTest, UintAndEndpoints) {
  EXPECT_EQ(*ParseUint("42", "n"), 42u);
  EXPECT_FALSE(ParseUint("-1", "n").ok());
  EXPECT_FALSE(ParseUint("4x", "n").ok());
  EXPECT_FALSE(ParseUint("99999999999999999999999", "n").ok());
  auto e = ParseEndpointList("a:1,127.0.0.1:7002");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 2u);
  EXPECT_FALSE(ParseEndpointList("a:1,,b:2").ok());
  EXPECT_FALSE(ParseEndpointList("hostonly").ok());
}

TEST(CommandLineTest, EndpointsComeFromFlagThenEnvThenDefault) {
  auto d = Parse({"status"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->global.endpoints.size(), 3u);
  EXPECT_EQ(d->global.endpoints[0], "127.0.0.1:7001");
  auto env = Parse({"status"}, "h:9");
  EXPECT_EQ(env->global.endpoints, std::vector<std::string>{"h:9"});
  auto flag = Parse({"--endpoints", "x:1", "status"}, "h:9");
  EXPECT_EQ(flag->global.endpoints, std::vector<std::string>{"x:1"});
  auto after = Parse({"status", "--timeout=250ms"});
  EXPECT_EQ(after->global.timeout, milliseconds(250));
}

TEST(CommandLineTest, Get) {
  auto g = Expect<GetCommand>(Parse({"get", "k", "--stale", "-v"}));
  EXPECT_EQ(g.key, "k");
  EXPECT_TRUE(g.stale);
  EXPECT_TRUE(g.verbose);
  EXPECT_FALSE(Parse({"get"}).ok());
  EXPECT_FALSE(Parse({"get", "a", "b"}).ok());
}

TEST(CommandLineTest, SetWithTtlAndConditions) {
  auto s = Expect<SetCommand>(Parse({"set", "k", "v", "--ttl", "10s"}));
  EXPECT_EQ(s.value, "v");
  EXPECT_EQ(s.ttl, milliseconds(10'000));
  EXPECT_FALSE(s.if_absent);
  EXPECT_TRUE(
      Expect<SetCommand>(Parse({"set", "k", "v", "--if-absent"})).if_absent);
  EXPECT_EQ(Expect<SetCommand>(Parse({"set", "k", "v", "--if-version", "3"}))
                .if_version,
            3u);
  EXPECT_FALSE(
      Parse({"set", "k", "v", "--if-absent", "--if-version", "3"}).ok());
  EXPECT_FALSE(Parse({"set", "k", "v", "--ttl", "soon"}).ok());
  EXPECT_FALSE(Parse({"set", "k"}).ok());
  // A value that starts with a dash needs "--".
  EXPECT_EQ(Expect<SetCommand>(Parse({"set", "k", "--", "-x"})).value, "-x");
}

TEST(CommandLineTest, DelMemberLeader) {
  auto d = Expect<DelCommand>(Parse({"del", "k", "--if-version=2"}));
  EXPECT_EQ(d.if_version, 2u);
  auto add =
      Expect<MemberCommand>(Parse({"member", "add", "4", "127.0.0.1:7004"}));
  EXPECT_EQ(add.action, MemberCommand::Action::kAdd);
  EXPECT_EQ(add.id, 4u);
  EXPECT_EQ(add.address, "127.0.0.1:7004");
  EXPECT_EQ(Expect<MemberCommand>(Parse({"member", "remove", "2"})).action,
            MemberCommand::Action::kRemove);
  EXPECT_FALSE(Parse({"member", "add", "4"}).ok());
  EXPECT_FALSE(Parse({"member", "promote", "0"}).ok());
  EXPECT_FALSE(Parse({"member", "evict", "1"}).ok());
  EXPECT_EQ(Expect<LeaderTransferCommand>(Parse({"leader", "transfer"})).id,
            0u);
  EXPECT_EQ(
      Expect<LeaderTransferCommand>(Parse({"leader", "transfer", "3"})).id, 3u);
  EXPECT_FALSE(Parse({"leader", "elect"}).ok());
}

TEST(CommandLineTest, Playground) {
  auto p = Expect<PlaygroundCommand>(
      Parse({"playground", "--shards", "1", "--replicas", "5", "--port", "9000",
             "--data-dir", "/tmp/x"}));
  EXPECT_EQ(p.replicas, 5);
  EXPECT_EQ(p.base_port, 9000);
  EXPECT_EQ(p.data_dir, "/tmp/x");
  EXPECT_EQ(p.controllers, 1);
  auto several = Expect<PlaygroundCommand>(
      Parse({"playground", "--shards", "3", "--controllers", "3"}));
  EXPECT_EQ(several.shards, 3);
  EXPECT_EQ(several.controllers, 3);
  EXPECT_FALSE(Parse({"playground", "--controllers", "2"}).ok());
  EXPECT_FALSE(
      Parse({"playground", "--shards", "2", "--controllers", "0"}).ok());
  auto scale = Expect<PlaygroundCommand>(
      Parse({"playground", "scale", "--shards", "4", "--data-dir", "d"}));
  EXPECT_EQ(scale.action, PlaygroundCommand::Action::kScale);
  EXPECT_EQ(scale.shards, 4);
  EXPECT_FALSE(Parse({"playground", "scale"}).ok());
  EXPECT_FALSE(
      Parse({"playground", "scale", "--shards", "2", "--port", "1"}).ok());
  EXPECT_FALSE(Parse({"playground", "grow"}).ok());
  EXPECT_EQ(Expect<PlaygroundCommand>(
                Parse({"playground", "--shards", "2", "--slot-count", "64"}))
                .slot_count,
            64);
  EXPECT_FALSE(Parse({"playground", "--slot-count", "48"}).ok());
  EXPECT_FALSE(Parse({"playground", "--replicas", "0"}).ok());
}

TEST(CommandLineTest, Bench) {
  auto b = Expect<BenchCommand>(Parse(
      {"bench", "--clients", "8", "--duration", "3s", "--value-size", "1KiB",
       "--read-ratio", "0.9", "--consistency", "stale", "--load"}));
  EXPECT_EQ(b.clients, 8);
  EXPECT_EQ(b.duration, milliseconds(3000));
  EXPECT_EQ(b.value_size, 1024u);
  EXPECT_DOUBLE_EQ(b.read_ratio, 0.9);
  EXPECT_TRUE(b.stale);
  EXPECT_TRUE(b.load);
  EXPECT_EQ(b.keys, 100'000u);
  EXPECT_FALSE(Parse({"bench", "--read-ratio", "1.5"}).ok());
  EXPECT_FALSE(Parse({"bench", "--consistency", "strong"}).ok());
  EXPECT_FALSE(Parse({"bench", "--clients", "0"}).ok());
}

TEST(CommandLineTest, HelpAndUnknownCommands) {
  EXPECT_EQ(Expect<HelpCommand>(Parse({})).topic, "");
  EXPECT_EQ(Expect<HelpCommand>(Parse({"--help"})).topic, "");
  EXPECT_EQ(Expect<HelpCommand>(Parse({"help", "set"})).topic, "set");
  EXPECT_EQ(Expect<HelpCommand>(Parse({"set", "--help"})).topic, "set");
  EXPECT_EQ(Expect<HelpCommand>(Parse({"bench", "-h"})).topic, "bench");
  EXPECT_FALSE(Parse({"frobnicate"}).ok());
  EXPECT_FALSE(Parse({"--bogus", "status"}).ok());
  EXPECT_NE(HelpText("").find("playground"), std::string::npos);
  EXPECT_NE(HelpText("set").find("--if-version"), std::string::npos);
}

}  // namespace
}  // namespace shardkv::cli
