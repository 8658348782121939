// shardkv-node: one replica of a shardkv shard, or of the controller group
// (--role controller). The role decides which services it hosts.
#include <absl/synchronization/mutex.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log.h"
#include "node/cmd/role_services.h"
#include "node/server/node_server.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = shardkv::server::ParseNodeFlags(args);
  if (!config.ok()) {
    if (config.status().code() == shardkv::Code::kNotFound) {
      std::fputs(config.status().message().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "shardkv-node: %s\n",
                 config.status().message().c_str());
    return 2;
  }
  shardkv::SetLogPrefix("node " + std::to_string(config->id));
  // Debian builds abseil with mutex deadlock detection on; gRPC's mutexes
  // then maintain a lock graph on every acquisition (a few % of CPU).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // SIGTERM/SIGINT are taken synchronously by the main thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  shardkv::server::NodeServer server(*config,
                                     shardkv::cmd::RoleServices(*config));
  shardkv::Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "shardkv-node: %s\n", started.ToString().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  SHARDKV_LOG(kInfo) << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                     << "; shutting down";
  server.Shutdown();
  SHARDKV_LOG(kInfo) << "stopped cleanly";
  // Every thread of ours has ended and every acknowledged write is in the
  // fsynced Raft log. Exit without the teardown that follows (destructors,
  // gRPC's own shutdown, which 1.51 may finish on a detached thread while
  // static destructors run: AddressSanitizer caught a double free in
  // grpc_cq_internal_unref there, chaos seed 7). A restart finds what it
  // finds after kill -9, which every fault test exercises.
  std::fflush(nullptr);
  std::_Exit(0);
}
