#include "testing/cluster/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/cluster/temp_dir.h"

namespace shardkv::test {
namespace {

using std::chrono::milliseconds;

// State letter from /proc/PID/stat ('S', 'R', 'T' stopped, 'Z' zombie), or
// '\0' if the process does not exist.
char ProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return '\0';
  size_t paren = stat.rfind(')');
  return paren + 2 < stat.size() ? stat[paren + 2] : '\0';
}

// Waits until `pid` is gone or a zombie (reaped by someone else).
bool EventuallyDead(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    char s = ProcState(pid);
    if (s == '\0' || s == 'Z') return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Process> StartOrDie(ProcessOptions o) {
  auto p = Process::Start(std::move(o));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

std::unique_ptr<Process> Sleeper() {
  return StartOrDie({"/bin/sleep", {"30"}, "", {}});
}

TEST(ProcessTest, StopEndsASleepWithSigterm) {
  auto p = Sleeper();
  ASSERT_TRUE(p);
  EXPECT_GT(p->pid(), 0);
  EXPECT_TRUE(p->IsRunning());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(p->Stop().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  EXPECT_FALSE(p->IsRunning());
  ASSERT_TRUE(p->wait_status().has_value());
  EXPECT_EQ(DescribeWaitStatus(*p->wait_status()), "killed by signal 15");
  EXPECT_EQ(ProcState(p->pid()), '\0');  // reaped, not a zombie
}

TEST(ProcessTest, OutputGoesToLogAndExitCodeIsReported) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  ProcessOptions o{"/bin/sh",
                   {"-c", "echo out; echo err >&2; echo $SHARDKV_X; exit 3"},
                   dir->Join("log"),
                   {"SHARDKV_X=from-env"}};
  auto p = StartOrDie(o);
  ASSERT_TRUE(p);
  StatusOr<int> st = p->Wait(milliseconds(5000));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 3);
  EXPECT_EQ(ReadFile(dir->Join("log")), "out\nerr\nfrom-env\n");
  // A restart appends to the same log.
  ASSERT_TRUE(p->Restart().ok());
  ASSERT_TRUE(p->Wait(milliseconds(5000)).ok());
  EXPECT_EQ(ReadFile(dir->Join("log")),
            "out\nerr\nfrom-env\nout\nerr\nfrom-env\n");
}

TEST(ProcessTest, WaitTimesOutOnRunningChild) {
  auto p = Sleeper();
  ASSERT_TRUE(p);
  StatusOr<int> st = p->Wait(milliseconds(50));
  EXPECT_EQ(st.status().code(), Code::kDeadlineExceeded);
  EXPECT_TRUE(p->IsRunning());
}

TEST(ProcessTest, StopEscalatesToSigkill) {
  auto p =
      StartOrDie({"/bin/sh", {"-c", "trap '' TERM; exec sleep 30"}, "", {}});
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(milliseconds(100));  // let the trap install
  Status st = p->Stop(milliseconds(200));
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(DescribeWaitStatus(*p->wait_status()), "killed by signal 9");
}

TEST(ProcessTest, KillIsSigkill) {
  auto p = Sleeper();
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->Kill().ok());
  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(DescribeWaitStatus(*p->wait_status()), "killed by signal 9");
  EXPECT_TRUE(p->Kill().ok());  // idempotent
  EXPECT_EQ(p->Pause().code(), Code::kFailedPrecondition);
}

TEST(ProcessTest, PauseAndResume) {
  auto p = Sleeper();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->Pause().ok());
  for (int i = 0; i < 100 && ProcState(p->pid()) != 'T'; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(ProcState(p->pid()), 'T');
  EXPECT_TRUE(p->IsRunning());
  ASSERT_TRUE(p->Resume().ok());
  for (int i = 0; i < 100 && ProcState(p->pid()) == 'T'; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_NE(ProcState(p->pid()), 'T');
  ASSERT_TRUE(p->Pause().ok());
  EXPECT_TRUE(p->Stop(milliseconds(2000)).ok());  // SIGCONT lets it die
}

TEST(ProcessTest, MissingBinaryIsAnError) {
  auto p = Process::Start({"/nonexistent/shardkv-node", {}, "", {}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("No such file"), std::string::npos)
      << p.status().ToString();
}

TEST(ProcessTest, UnwritableLogIsAnError) {
  auto p = Process::Start({"/bin/sleep", {"1"}, "/nonexistent/dir/log", {}});
  EXPECT_FALSE(p.ok());
}

TEST(ProcessTest, DestructorStopsChild) {
  pid_t pid;
  {
    auto p = Sleeper();
    ASSERT_TRUE(p);
    pid = p->pid();
    EXPECT_NE(ProcState(pid), '\0');
  }
  EXPECT_EQ(ProcState(pid), '\0');
}

TEST(ProcessTest, ChildDiesWithTheTestProcess) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {  // stands in for a test process that crashes
    auto p = Process::Start({"/bin/sleep", {"30"}, "", {}});
    pid_t pid = p.ok() ? (*p)->pid() : -1;
    ssize_t n = write(fds[1], &pid, sizeof(pid));
    (void)n;
    _exit(0);  // no destructors: only PR_SET_PDEATHSIG can stop the child
  }
  pid_t grandchild = -1;
  ASSERT_EQ(read(fds[0], &grandchild, sizeof(grandchild)),
            static_cast<ssize_t>(sizeof(grandchild)));
  close(fds[0]);
  close(fds[1]);
  waitpid(middle, nullptr, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(EventuallyDead(grandchild));
}

}  // namespace
}  // namespace shardkv::test
