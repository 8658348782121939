// Process: one child process started with fork/exec, for multi-process
// tests (e.g. three `shardkv-node` replicas). Its stdout and stderr are
// appended to a log file. The child asks the kernel to SIGKILL it when the
// thread that started it exits (PR_SET_PDEATHSIG), so a crashed or killed
// test never leaves nodes behind; start processes from a long-lived thread
// (the test's main thread).
//
// Thread-safety: not thread-safe; one owner thread. Invariant: a started
// child is always reaped by this object (Wait/Stop/Kill or the destructor),
// so it never stays a zombie and its pid is not reused under our feet.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::test {

struct ProcessOptions {
  std::string binary;                  // path; not searched in PATH
  std::vector<std::string> args;       // argv[1..]
  std::string log_path;                // stdout+stderr appended; "" = /dev/null
  std::vector<std::string> extra_env;  // "NAME=value", added to ours
};

class Process {
 public:
  // Forks and execs. Fails (and leaves no child) if the binary can't be
  // executed or the log file can't be opened.
  static StatusOr<std::unique_ptr<Process>> Start(ProcessOptions options);

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Stops the child (Stop() with the default grace) if it is running.
  ~Process();

  // Starts the same binary with the same options again (a node restart on
  // its data dir). REQUIRES: !IsRunning().
  Status Restart();

  // SIGTERM (and SIGCONT, in case it is paused), wait up to `grace`, then
  // SIGKILL. OK if it exited within the grace period (any exit status);
  // DEADLINE_EXCEEDED if it had to be killed. OK if not running.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL and reap (kill -9). OK if not running.
  Status Kill();
  // SIGSTOP / SIGCONT. FAILED_PRECONDITION if not running.
  Status Pause();
  Status Resume();

  // Reaps the child if it has exited; true while it has not.
  bool IsRunning();
  // Waits for the child to exit by itself. Returns its wait status (see
  // WIFEXITED etc.), DEADLINE_EXCEEDED on timeout (child left running).
  StatusOr<int> Wait(std::chrono::milliseconds timeout);

  // Pid of the current (or last) child.
  pid_t pid() const { return pid_; }
  // Wait status of the last child once it exited and was reaped.
  std::optional<int> wait_status() const { return wait_status_; }
  const ProcessOptions& options() const { return options_; }
  // "shardkv-node[1234]" for messages.
  std::string name() const;

 private:
  explicit Process(ProcessOptions options) : options_(std::move(options)) {}
  Status Spawn();
  // Non-blocking reap; true if the child is gone (status recorded).
  bool TryReap();

  ProcessOptions options_;
  pid_t pid_ = -1;
  bool running_ = false;
  std::optional<int> wait_status_;
};

// Human-readable wait status: "exit 0", "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

}  // namespace shardkv::test
