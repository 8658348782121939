#include "client/cli/cluster_command_line.h"

#include <gtest/gtest.h>

#include "client/cli/command_line.h"

namespace shardkv::cli {
namespace {

StatusOr<CommandLine> Parse(std::vector<std::string> args) {
  return ParseCommandLine(args, "");
}

template <typename T>
T Expect(const StatusOr<CommandLine>& parsed) {
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return T{};
  const T* c = std::get_if<T>(&parsed->command);
  EXPECT_NE(c, nullptr);
  return c ? *c : T{};
}

TEST(ClusterCommandLineTest, Rebalance) {
  auto plain = Expect<RebalanceCommand>(Parse({"rebalance"}));
  EXPECT_FALSE(plain.wait);
  EXPECT_FALSE(plain.dry_run);
  EXPECT_TRUE(Expect<RebalanceCommand>(Parse({"rebalance", "--wait"})).wait);
  EXPECT_TRUE(
      Expect<RebalanceCommand>(Parse({"rebalance", "--dry-run"})).dry_run);
  EXPECT_FALSE(Parse({"rebalance", "--wait", "--dry-run"}).ok());
  EXPECT_FALSE(Parse({"rebalance", "now"}).ok());
  EXPECT_FALSE(Parse({"rebalance", "--to", "3"}).ok());
}

TEST(ClusterCommandLineTest, ShardJoin) {
  auto c = Expect<ShardCommand>(
      Parse({"--endpoints", "h:7000", "shard", "join", "3", "--members",
             "1=127.0.0.1:7301,2=127.0.0.1:7302"}));
  EXPECT_EQ(c.action, ShardCommand::Action::kJoin);
  EXPECT_EQ(c.shard_id, 3u);
  ASSERT_EQ(c.members.size(), 2u);
  EXPECT_EQ(c.members[0].first, 1u);
  EXPECT_EQ(c.members[1].second, "127.0.0.1:7302");
  EXPECT_FALSE(Parse({"shard", "join", "3"}).ok());  // no --members
  EXPECT_FALSE(Parse({"shard", "join", "0", "--members", "1=a:1"}).ok());
  EXPECT_FALSE(Parse({"shard", "join", "3", "--members", "1=a:1,1=b:2"}).ok());
  EXPECT_FALSE(Parse({"shard", "join", "3", "--members", "a:1"}).ok());
  EXPECT_FALSE(Parse({"shard", "join", "3", "--members", "0=a:1"}).ok());
  EXPECT_FALSE(Parse({"shard", "join", "3", "--members", "1=nohost"}).ok());
  EXPECT_FALSE(Parse({"shard", "join", "3", "--members", "1=a:1,"}).ok());
}

TEST(ClusterCommandLineTest, ShardDrainCancelRemove) {
  auto drain = Expect<ShardCommand>(Parse({"shard", "drain", "2", "--wait"}));
  EXPECT_EQ(drain.action, ShardCommand::Action::kDrain);
  EXPECT_EQ(drain.shard_id, 2u);
  EXPECT_TRUE(drain.wait);
  EXPECT_EQ(Expect<ShardCommand>(Parse({"shard", "cancel-drain", "2"})).action,
            ShardCommand::Action::kCancelDrain);
  EXPECT_EQ(Expect<ShardCommand>(Parse({"shard", "remove", "7"})).action,
            ShardCommand::Action::kRemove);
  EXPECT_FALSE(Parse({"shard", "remove", "7", "--wait"}).ok());
  EXPECT_FALSE(Parse({"shard", "drain", "2", "--members", "1=a:1"}).ok());
  EXPECT_FALSE(Parse({"shard", "explode", "2"}).ok());
  EXPECT_FALSE(Parse({"shard", "drain"}).ok());
  EXPECT_FALSE(Parse({"shard", "drain", "x"}).ok());
  EXPECT_FALSE(Parse({"shard", "drain", "4294967296"}).ok());
}

TEST(ClusterCommandLineTest, SlotMoveAndMap) {
  auto c = Expect<SlotMoveCommand>(
      Parse({"slot", "move", "17", "--to", "3", "--wait"}));
  EXPECT_EQ(c.slot, 17u);
  EXPECT_EQ(c.to_shard, 3u);
  EXPECT_TRUE(c.wait);
  EXPECT_FALSE(Parse({"slot", "move", "17"}).ok());  // no --to
  EXPECT_FALSE(Parse({"slot", "move", "65536", "--to", "3"}).ok());
  EXPECT_FALSE(Parse({"slot", "move", "17", "--to", "0"}).ok());
  EXPECT_FALSE(Parse({"slot", "copy", "17", "--to", "3"}).ok());
  Expect<MapCommand>(Parse({"map"}));
  EXPECT_FALSE(Parse({"map", "extra"}).ok());
}

TEST(ClusterCommandLineTest, HelpTopics) {
  for (const char* topic : {"rebalance", "shard", "slot", "map"}) {
    EXPECT_NE(HelpText(topic).find(std::string("usage: shardkv ") + topic),
              std::string::npos)
        << topic;
    auto h = Expect<HelpCommand>(Parse({topic, "--help"}));
    EXPECT_EQ(h.topic, topic);
  }
  EXPECT_NE(HelpText("").find("rebalance"), std::string::npos);
}

}  // namespace
}  // namespace shardkv::cli
