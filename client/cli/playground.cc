// `shardkv playground`: a controller group and N shards of R local
// shardkv-node processes (or, with --controllers 0, one unsharded shard).
// The main thread starts the processes of the layout, takes signals
// synchronously with sigtimedwait (blocked everywhere, so there is no async
// handler state) and reaps children; the orchestration thread
// (playground_worker.h) bootstraps the cluster and serves
// `playground scale`. Ctrl-C / SIGTERM stops the worker, then every process.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "client/cli/commands.h"
#include "client/cli/playground_backend.h"
#include "client/cli/playground_worker.h"

namespace shardkv::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

StatusOr<std::string> FindNodeBinary() {
  if (const char* env = std::getenv("SHARDKV_NODE_BIN"); env && *env) {
    if (access(env, X_OK) == 0) return std::string(env);
    return InvalidArgument(std::string("$SHARDKV_NODE_BIN=") + env +
                           " is not an executable file");
  }
  std::string self = SelfDirectory();
  // Installed side by side (build/bin too), or an older build layout.
  for (const std::string& candidate :
       {self + "/shardkv-node", self + "/../node/cmd/shardkv-node",
        self + "/../node/server/shardkv-node"}) {
    if (access(candidate.c_str(), X_OK) == 0) {
      return fs::path(candidate).lexically_normal().string();
    }
  }
  return Status(Code::kNotFound, "shardkv-node not found next to " + self +
                                     "; build it or set $SHARDKV_NODE_BIN");
}

// One playground per data dir: the nodes' data must not be shared.
StatusOr<int> LockDataDir(const std::string& dir) {
  std::string path = dir + "/playground.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot open " + path + ": " + strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return FailedPrecondition("another playground runs on " + dir);
  }
  return fd;
}

// The layout saved in `dir`, or a new one from the command line. A data dir
// of the unsharded playground from before layouts (DIR/node-1) stays one.
StatusOr<PlaygroundLayout> ChooseLayout(const PlaygroundCommand& command,
                                        const std::string& dir) {
  auto saved = LoadLayout(dir);
  if (saved.ok()) {
    int shards = static_cast<int>(saved->shards.size());
    if (shards != command.shards && command.controllers > 0) {
      std::cerr << "playground: " << dir << " holds a cluster of " << shards
                << " shards; starting that (use `playground scale`)\n";
    }
    return saved;
  }
  if (saved.status().code() != Code::kNotFound) return saved.status();
  int controllers = command.controllers;
  if (fs::exists(dir + "/node-1")) controllers = 0;
  return InitialLayout(controllers == 0 ? 1 : command.shards, command.replicas,
                       controllers, command.base_port, command.slot_count);
}

int WaitSignal(const sigset_t& set, milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>(timeout.count() % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

int Fail(const std::string& message) {
  std::cerr << "playground: " << message << "\n";
  return kExitError;
}

}  // namespace

int RunPlaygroundScale(const PlaygroundCommand& command);

int RunPlayground(const PlaygroundCommand& command) {
  if (command.action == PlaygroundCommand::Action::kScale) {
    return RunPlaygroundScale(command);
  }
  auto binary = FindNodeBinary();
  if (!binary.ok()) return Fail(binary.status().message());
  std::error_code ec;
  fs::create_directories(command.data_dir, ec);
  if (ec)
    return Fail("cannot create " + command.data_dir + ": " + ec.message());
  std::string dir = fs::absolute(command.data_dir).lexically_normal().string();
  auto lock = LockDataDir(dir);
  if (!lock.ok()) return Fail(lock.status().message());
  auto layout = ChooseLayout(command, dir);
  if (!layout.ok()) return Fail(layout.status().message());
  for (const std::string& address : layout->AllAddresses()) {
    int port = std::stoi(address.substr(address.rfind(':') + 1));
    if (Status st = CheckPortFree(port); !st.ok()) return Fail(st.message());
  }
  if (Status st = SaveLayout(dir, *layout); !st.ok()) return Fail(st.message());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  LocalProcesses processes(*binary, dir, *layout);
  // The layout's processes are forked before any gRPC thread exists.
  if (Status st = processes.StartAll(); !st.ok()) {
    processes.StopAll();
    return Fail("starting the nodes: " + st.message());
  }
  std::cerr << "playground: started " << layout->AllAddresses().size()
            << " processes of " << *binary << "; data and logs in " << dir
            << "\n";

  PlaygroundWorker worker(processes, dir);
  std::thread worker_thread([&worker] {
    pthread_setname_np(pthread_self(), "orchestration");
    worker.Run();
  });
  int code = kExitOk;
  while (true) {
    int sig = WaitSignal(signals, milliseconds(200));
    if (sig == SIGINT || sig == SIGTERM) {
      std::cerr << "playground: stopping\n";
      break;
    }
    if (worker.failed()) {
      code = kExitError;
      break;
    }
    if (processes.Reap() == 0) {
      std::cerr << "playground: every node has exited\n";
      code = kExitError;
      break;
    }
  }
  worker.Stop();
  worker_thread.join();
  processes.StopAll();
  return code;
}

}  // namespace shardkv::cli
