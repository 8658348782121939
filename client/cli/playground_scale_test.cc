// End to end through the `shardkv` binary and real shardkv-node processes:
// a playground of 2 shards, keys written through the routing client, scaled
// to 3 shards and back to 1 with `shardkv playground scale`, every key read
// back after each step; then stopped and started again on the same data
// dir, which brings the same single-shard cluster and data back.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "client/cli/playground_layout.h"
#include "client/routing_client.h"

namespace shardkv::cli {
namespace {

constexpr int kKeys = 300;

std::string Key(int i) { return "key-" + std::to_string(i); }
std::string Value(int i) { return "value-" + std::to_string(i * 7919); }

struct ShellResult {
  int code = -1;
  std::string out;
};

ShellResult Shell(const std::string& command) {
  ShellResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Playground {
 public:
  Playground(const std::string& dir, int port) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      setenv("SHARDKV_NODE_BIN", SHARDKV_NODE, 1);
      execl(SHARDKV_CLI, SHARDKV_CLI, "playground", "--shards", "2",
            "--replicas", "1", "--controllers", "1", "--slot-count", "64",
            "--data-dir", dir.c_str(), "--port", std::to_string(port).c_str(),
            nullptr);
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Playground() {
    if (pid_ > 0) Stop();
    if (out_) fclose(out_);
  }
  std::string FirstLine() {
    char line[1024] = {0};
    if (!fgets(line, sizeof(line), out_)) return "";
    return line;
  }
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

std::unique_ptr<client::RoutingClient> Connect(int port) {
  client::RoutingClientOptions options;
  options.endpoints = {"127.0.0.1:" + std::to_string(port)};
  options.timeout = std::chrono::milliseconds(20'000);
  auto c = client::RoutingClient::Create(options);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

void VerifyEveryKey(client::RoutingClient& c, const std::string& when) {
  int wrong = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto got = c.Get(Key(i));
    if (!got.ok() || got->value != Value(i)) {
      if (++wrong <= 5) {
        ADD_FAILURE() << when << ": " << Key(i) << " -> "
                      << (got.ok() ? got->value : got.status().ToString());
      }
    }
  }
  EXPECT_EQ(wrong, 0) << when;
}

ShellResult Scale(const std::string& dir, int shards) {
  return Shell(std::string(SHARDKV_CLI) + " playground scale --shards " +
               std::to_string(shards) + " --data-dir " + dir);
}

TEST(PlaygroundScaleTest, ScalesTwoToThreeToOneKeepingEveryKey) {
  std::string dir = ::testing::TempDir() + "/pgs-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  int port = 21000 + getpid() % 20000;
  {
    Playground pg(dir, port);
    std::string line = pg.FirstLine();
    ASSERT_EQ(line.rfind("endpoints: 127.0.0.1:" + std::to_string(port), 0), 0u)
        << line;
    auto c = Connect(port);
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < kKeys; ++i) {
      auto set = c->Set(Key(i), Value(i));
      ASSERT_TRUE(set.ok()) << Key(i) << ": " << set.status().ToString();
    }
    VerifyEveryKey(*c, "2 shards");

    ShellResult up = Scale(dir, 3);
    ASSERT_EQ(up.code, 0) << up.out;
    EXPECT_NE(up.out.find("slots"), std::string::npos) << up.out;
    auto layout = LoadLayout(dir);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->shards.size(), 3u);
    VerifyEveryKey(*c, "3 shards");

    ShellResult down = Scale(dir, 1);
    ASSERT_EQ(down.code, 0) << down.out;
    layout = LoadLayout(dir);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->shards.size(), 1u);
    EXPECT_FALSE(std::filesystem::exists(dir + "/shard-3-node-1"));
    VerifyEveryKey(*c, "1 shard");
    EXPECT_EQ(Scale(dir, 1).code, 0);  // nothing to do
    EXPECT_EQ(pg.Stop(), 0);
  }
  EXPECT_NE(Scale(dir, 2).code, 0);  // nothing runs there now
  {
    Playground again(dir, port);
    EXPECT_NE(again.FirstLine().find("endpoints: "), std::string::npos);
    auto c = Connect(port);
    ASSERT_NE(c, nullptr);
    VerifyEveryKey(*c, "after restart");
    EXPECT_EQ(again.Stop(), 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shardkv::cli
