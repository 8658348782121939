// A child process started with fork/exec for the playground: its stdout and
// stderr go to a log file, it runs in its own process group (so Ctrl-C in
// the terminal reaches only the playground, which then stops it in order),
// and it is SIGKILLed by the kernel if the playground dies
// (PR_SET_PDEATHSIG). Never detached: the owner reaps it.
//
// Not thread-safe; owned by one thread. REQUIRES: SIGINT/SIGTERM/SIGCHLD
// may be blocked in the caller; the child unblocks them before exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::cli {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps a child still running.
  ~ChildProcess();

  Status Start(const std::string& binary, const std::vector<std::string>& args,
               const std::string& log_path);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Non-blocking: when the child has exited, reaps it and returns a
  // description ("exited with code 1", "killed by signal 9").
  std::optional<std::string> PollExit();
  void Signal(int signo);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns how it ended.
  std::string Stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
};

// The directory holding the running executable (from /proc/self/exe).
std::string SelfDirectory();

// OK when 127.0.0.1:port can be bound (nothing listens there).
Status CheckPortFree(int port);

}  // namespace shardkv::cli
