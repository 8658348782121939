// `shardkv playground`: one shard of R local shardkv-node processes.
// The main thread owns the children; signals are taken synchronously with
// sigtimedwait (blocked everywhere), so there is no async handler state.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "client/admin_client.h"
#include "client/cli/child_process.h"
#include "client/cli/commands.h"

namespace shardkv::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kLeaderWait{60'000};
constexpr milliseconds kStopGrace{10'000};

struct Node {
  int id = 0;
  std::string address;
  std::string log_path;
  ChildProcess process;
};

StatusOr<std::string> FindNodeBinary() {
  if (const char* env = std::getenv("SHARDKV_NODE_BIN"); env && *env) {
    if (access(env, X_OK) == 0) return std::string(env);
    return InvalidArgument(std::string("$SHARDKV_NODE_BIN=") + env +
                           " is not an executable file");
  }
  std::string self = SelfDirectory();
  // Installed side by side, or this source tree's build layout.
  for (const std::string& candidate :
       {self + "/shardkv-node", self + "/../node/server/shardkv-node"}) {
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

std::string PeersFlag(const std::vector<std::unique_ptr<Node>>& nodes) {
  std::string peers;
  for (const auto& n : nodes) {
    if (!peers.empty()) peers += ",";
    peers += std::to_string(n->id) + "=" + n->address;
  }
  return peers;
}

// Reports children that died; returns how many are still running.
int ReapAndReport(std::vector<std::unique_ptr<Node>>& nodes) {
  int running = 0;
  for (auto& n : nodes) {
    if (auto how = n->process.PollExit()) {
      std::cerr << "playground: node " << n->id << " (" << n->address << ") "
                << *how << "; see " << n->log_path << "\n";
    }
    if (n->process.running()) ++running;
  }
  return running;
}

// Waits for a signal for at most `timeout`; returns it, or 0.
int WaitSignal(const sigset_t& set, milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>(timeout.count() % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

bool LeaderElected(client::AdminClient& admin,
                   const std::vector<std::unique_ptr<Node>>& nodes) {
  for (const auto& n : nodes) {
    auto s = admin.Status(n->address);
    if (s.ok() && s->role() == v1::ROLE_LEADER) return true;
  }
  return false;
}

int StopAll(std::vector<std::unique_ptr<Node>>& nodes) {
  for (auto& n : nodes) n->process.Signal(SIGTERM);
  for (auto& n : nodes) {
    if (!n->process.running()) continue;
    std::string how = n->process.Stop(kStopGrace);
    std::cerr << "playground: node " << n->id << " " << how << "\n";
  }
  return kExitOk;
}

}  // namespace

int RunPlayground(const PlaygroundCommand& command) {
  auto binary = FindNodeBinary();
  if (!binary.ok()) {
    std::cerr << "playground: " << binary.status().message() << "\n";
    return kExitError;
  }
  std::error_code ec;
  fs::create_directories(command.data_dir, ec);
  if (ec) {
    std::cerr << "playground: cannot create " << command.data_dir << ": "
              << ec.message() << "\n";
    return kExitError;
  }
  std::string dir = fs::absolute(command.data_dir).lexically_normal().string();
  auto lock = LockDataDir(dir);
  if (!lock.ok()) {
    std::cerr << "playground: " << lock.status().message() << "\n";
    return kExitError;
  }
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::string> endpoints;
  for (int i = 1; i <= command.replicas; ++i) {
    int port = command.base_port + i - 1;
    if (Status st = CheckPortFree(port); !st.ok()) {
      std::cerr << "playground: " << st.message() << "\n";
      return kExitError;
    }
    auto n = std::make_unique<Node>();
    n->id = i;
    n->address = "127.0.0.1:" + std::to_string(port);
    n->log_path = dir + "/node-" + std::to_string(i) + ".log";
    endpoints.push_back(n->address);
    nodes.push_back(std::move(n));
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  // All forks happen before any gRPC thread exists.
  std::string peers = PeersFlag(nodes);
  for (auto& n : nodes) {
    std::string data = dir + "/node-" + std::to_string(n->id);
    Status st =
        n->process.Start(*binary,
                         {"--id", std::to_string(n->id), "--listen", n->address,
                          "--peers", peers, "--data-dir", data},
                         n->log_path);
    if (!st.ok()) {
      std::cerr << "playground: starting node " << n->id << ": " << st.message()
                << "\n";
      StopAll(nodes);
      return kExitError;
    }
  }
  std::cerr << "playground: started " << nodes.size() << " replicas of "
            << *binary << "; data and logs in " << dir << "\n";

  client::AdminOptions admin_options;
  admin_options.endpoints = endpoints;
  admin_options.timeout = milliseconds(1000);
  auto admin = client::AdminClient::Create(admin_options);
  auto give_up = std::chrono::steady_clock::now() + kLeaderWait;
  while (!LeaderElected(**admin, nodes)) {
    int sig = WaitSignal(signals, milliseconds(200));
    if (sig == SIGINT || sig == SIGTERM) return StopAll(nodes);
    if (ReapAndReport(nodes) * 2 <= static_cast<int>(nodes.size())) {
      std::cerr << "playground: too few nodes left for a quorum\n";
      StopAll(nodes);
      return kExitError;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      std::cerr << "playground: no leader elected after "
                << FormatDuration(kLeaderWait) << "; see the logs in " << dir
                << "\n";
      StopAll(nodes);
      return kExitError;
    }
  }

  std::string list;
  for (const std::string& e : endpoints) list += (list.empty() ? "" : ",") + e;
  std::cout << "endpoints: " << list << std::endl;
  std::cerr << "playground: logs in " << dir << "/node-<id>.log\n"
            << "playground: try  shardkv --endpoints " << list
            << " set hello world\n"
            << "playground: Ctrl-C stops the replicas (data is kept)\n";

  while (true) {
    int sig = WaitSignal(signals, milliseconds(1000));
    if (sig == SIGINT || sig == SIGTERM) {
      std::cerr << "playground: stopping\n";
      return StopAll(nodes);
    }
    if (ReapAndReport(nodes) == 0) {
      std::cerr << "playground: every node has exited\n";
      return kExitError;
    }
  }
}

}  // namespace shardkv::cli
