#include "testing/cluster/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace shardkv::test {
namespace {

using Clock = std::chrono::steady_clock;

Status Errno(const std::string& what) {
  return Internal(what + ": " + std::strerror(errno));
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(pid_t parent, int log_fd, int error_fd,
                            char* const* argv, char* const* envp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // parent died before prctl
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  // Keep error_fd (close-on-exec) and drop every other inherited fd, e.g.
  // the listening sockets of proxies in the test process.
  const unsigned keep = static_cast<unsigned>(error_fd);
  if ((keep > 3 && syscall(SYS_close_range, 3u, keep - 1, 0u) != 0) ||
      syscall(SYS_close_range, keep + 1, ~0u, 0u) != 0) {
    for (int fd = 3; fd < 4096; ++fd) {  // kernel without close_range
      if (fd != error_fd) close(fd);
    }
  }
  // Dispositions set by the test process (gRPC ignores SIGPIPE) survive
  // exec if ignored; give the child the defaults.
  signal(SIGPIPE, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(argv[0], argv, envp);
  int err = errno;
  ssize_t n = write(error_fd, &err, sizeof(err));
  (void)n;
  _exit(127);
}

}  // namespace

StatusOr<std::unique_ptr<Process>> Process::Start(ProcessOptions options) {
  std::unique_ptr<Process> p(new Process(std::move(options)));
  SHARDKV_RETURN_IF_ERROR(p->Spawn());
  return p;
}

Status Process::Spawn() {
  if (running_) return FailedPrecondition(name() + " is already running");
  const std::string log_path =
      options_.log_path.empty() ? "/dev/null" : options_.log_path;
  int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Errno("open log " + log_path);
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    close(log_fd);
    return Errno("pipe2");
  }
  // Everything the child needs is built before fork (no malloc after it).
  std::vector<std::string> argv_strings = {options_.binary};
  argv_strings.insert(argv_strings.end(), options_.args.begin(),
                      options_.args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = options_.extra_env;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    Status st = Errno("fork");
    close(log_fd);
    close(error_pipe[0]);
    close(error_pipe[1]);
    return st;
  }
  if (pid == 0) {
    ExecChild(parent, log_fd, error_pipe[1], argv.data(), envp.data());
  }
  close(log_fd);
  close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  pid_ = pid;
  running_ = true;
  wait_status_.reset();
  if (n > 0) {  // exec failed; the child exits with 127
    (void)Wait(std::chrono::seconds(5));
    return FailedPrecondition("cannot execute " + options_.binary + ": " +
                              std::strerror(child_errno));
  }
  return Status::Ok();
}

Process::~Process() { (void)Stop(); }

Status Process::Restart() { return Spawn(); }

bool Process::TryReap() {
  if (!running_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  // r < 0 (ECHILD) means someone else reaped it; treat as gone.
  running_ = false;
  if (r == pid_) wait_status_ = status;
  return true;
}

bool Process::IsRunning() { return !TryReap(); }

StatusOr<int> Process::Wait(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  while (!TryReap()) {
    if (Clock::now() >= deadline) {
      return Status(Code::kDeadlineExceeded,
                    name() + " still running after " +
                        std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2,
                                                std::chrono::milliseconds(5));
  }
  if (!wait_status_) return Internal(name() + " was reaped elsewhere");
  return *wait_status_;
}

Status Process::Stop(std::chrono::milliseconds grace) {
  if (!IsRunning()) return Status::Ok();
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);  // a stopped process can't act on SIGTERM
  if (Wait(grace).ok()) return Status::Ok();
  SHARDKV_RETURN_IF_ERROR(Kill());
  return Status(Code::kDeadlineExceeded, name() + " ignored SIGTERM for " +
                                             std::to_string(grace.count()) +
                                             " ms; killed");
}

Status Process::Kill() {
  if (!IsRunning()) return Status::Ok();
  if (kill(pid_, SIGKILL) != 0) return Errno("kill " + name());
  StatusOr<int> st = Wait(std::chrono::seconds(10));
  return st.ok() ? Status::Ok() : st.status();
}

Status Process::Pause() {
  if (!IsRunning()) return FailedPrecondition(name() + " is not running");
  if (kill(pid_, SIGSTOP) != 0) return Errno("SIGSTOP " + name());
  return Status::Ok();
}

Status Process::Resume() {
  if (!IsRunning()) return FailedPrecondition(name() + " is not running");
  if (kill(pid_, SIGCONT) != 0) return Errno("SIGCONT " + name());
  return Status::Ok();
}

std::string Process::name() const {
  std::string base = options_.binary;
  size_t slash = base.rfind('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  return base + "[" + std::to_string(pid_) + "]";
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return "exit " + std::to_string(WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  }
  return "wait status " + std::to_string(wait_status);
}

}  // namespace shardkv::test
