// End-to-end test of the `shardkv` binary: the unsharded playground
// (--controllers 0) start/stop/restart and the data commands, with a
// stand-in node binary (fake_node_main.cc). The sharded playground with real
// nodes is playground_scale_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

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
      setenv("SHARDKV_NODE_BIN", SHARDKV_FAKE_NODE, 1);
      // --controllers 0: the unsharded playground (the stand-in node has
      // no controller role); the sharded one is playground_scale_test.
      execl(SHARDKV_CLI, SHARDKV_CLI, "playground", "--shards", "1",
            "--replicas", "3", "--controllers", "0", "--data-dir", dir.c_str(),
            "--port", std::to_string(port).c_str(), nullptr);
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Playground() {
    if (pid_ > 0) Stop();
    if (out_) fclose(out_);
  }
  // The first stdout line (the endpoints line), blocking.
  std::string FirstLine() {
    char line[512] = {0};
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

std::string Cli(int port) {
  return std::string(SHARDKV_CLI) +
         " --timeout 3s --endpoints 127.0.0.1:" + std::to_string(port + 1) +
         ",127.0.0.1:" + std::to_string(port);
}

TEST(PlaygroundTest, StartsServesStopsAndRestartsOnTheSameDataDir) {
  std::string dir = ::testing::TempDir() + "/pg-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  int port = 20000 + getpid() % 20000;
  {
    Playground pg(dir, port);
    std::string expected = "endpoints: 127.0.0.1:" + std::to_string(port) +
                           ",127.0.0.1:" + std::to_string(port + 1) +
                           ",127.0.0.1:" + std::to_string(port + 2) + "\n";
    ASSERT_EQ(pg.FirstLine(), expected);

    // The client starts at a follower and must follow the NOT_LEADER hint.
    ShellResult set = Shell(Cli(port) + " set greeting hello");
    EXPECT_EQ(set.code, 0) << set.out;
    EXPECT_EQ(set.out, "OK version=1\n");
    ShellResult get = Shell(Cli(port) + " get greeting -v");
    EXPECT_EQ(get.out, "hello\nversion=1 ttl=none\n");
    ShellResult cas = Shell(Cli(port) + " set greeting x --if-version 7");
    EXPECT_EQ(cas.code, 3) << cas.out;
    EXPECT_NE(cas.out.find("version 1"), std::string::npos) << cas.out;
    ShellResult missing = Shell(Cli(port) + " get nothing");
    EXPECT_EQ(missing.code, 1);
    EXPECT_EQ(missing.out, "not found\n");
    ShellResult status = Shell(Cli(port) + " status");
    EXPECT_EQ(status.code, 0);
    EXPECT_NE(status.out.find("leader"), std::string::npos) << status.out;

    // A second playground on the same ports is refused clearly.
    ShellResult busy =
        Shell(std::string("SHARDKV_NODE_BIN=") + SHARDKV_FAKE_NODE + " " +
              SHARDKV_CLI + " playground --data-dir " + dir + "-other --port " +
              std::to_string(port));
    EXPECT_EQ(busy.code, 4);
    EXPECT_NE(busy.out.find("is busy"), std::string::npos) << busy.out;
    EXPECT_EQ(pg.Stop(), 0);
  }
  {
    Playground again(dir, port);
    EXPECT_NE(again.FirstLine().find("endpoints: "), std::string::npos);
    EXPECT_EQ(again.Stop(), 0);
  }
  // Both runs started node 1 on the same data dir.
  std::ifstream starts(dir + "/node-1.starts");
  std::string content((std::istreambuf_iterator<char>(starts)), {});
  EXPECT_EQ(content, "start\nstart\n");
  EXPECT_TRUE(std::filesystem::exists(dir + "/node-3.log"));
  // The layout was kept, so the restart was the same unsharded cluster.
  std::ifstream layout(dir + "/layout");
  std::string saved((std::istreambuf_iterator<char>(layout)), {});
  EXPECT_EQ(saved.find("controller"), std::string::npos) << saved;
  EXPECT_NE(saved.find("replica 1 3 127.0.0.1:" + std::to_string(port + 2)),
            std::string::npos)
      << saved;
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(dir + "-other");
}

}  // namespace
