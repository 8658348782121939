// LocalProcesses — the playground's orchestration backend: every replica
// (controller or shard) is a local shardkv-node process whose stdout and
// stderr go to DIR/<name>.log and whose data is DIR/<name>/. The layout
// (playground_layout.h) is saved to DIR before a process is added and after
// one is deleted, so a playground started again finds every process that
// may hold data.
//
// Thread-safe: the playground's main thread reaps and stops, the
// orchestration thread creates and deletes. Processes are forked by the
// caller's thread; PR_SET_PDEATHSIG kills them when that thread exits, so
// only long-lived threads (main, orchestration) may call the create
// methods. After StopAll nothing starts any more.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/cli/child_process.h"
#include "client/cli/playground_layout.h"
#include "orchestration/infrastructure.h"

namespace shardkv::cli {

class LocalProcesses final : public orchestration::Infrastructure {
 public:
  LocalProcesses(std::string node_binary, std::string dir,
                 PlaygroundLayout layout);
  ~LocalProcesses() override;

  // Starts every process in the layout, the controllers first.
  Status StartAll();
  // Reports children that exited (on stderr); returns how many run.
  int Reap();
  // SIGTERM to all, then waits for each. Idempotent.
  void StopAll();
  // WaitShardReady gives up (ABORTED) once this is set.
  void RequestAbort() { abort_ = true; }

  PlaygroundLayout layout() const;
  std::vector<std::string> ShardAddresses(orchestration::ShardId shard) const;

  // orchestration::Infrastructure
  StatusOr<std::vector<v1::Member>> CreateShard(
      orchestration::ShardId shard) override;
  Status DeleteShard(orchestration::ShardId shard) override;
  StatusOr<std::vector<v1::Member>> ShardReplicas(
      orchestration::ShardId shard) override;
  Status WaitShardReady(orchestration::ShardId shard,
                        std::chrono::milliseconds timeout) override;
  StatusOr<v1::Member> CreateReplica(
      orchestration::ShardId shard, orchestration::ReplicaId id,
      orchestration::ReplicaId replaces) override;
  Status DeleteReplica(orchestration::ShardId shard,
                       orchestration::ReplicaId id) override;
  // Local processes have no versions: an upgrade restarts every replica
  // (the binary on disk may have been rebuilt).
  StatusOr<std::vector<orchestration::ReplicaId>> ReplicasToUpgrade(
      orchestration::ShardId shard) override;
  Status RestartReplica(orchestration::ShardId shard,
                        orchestration::ReplicaId id) override;

 private:
  // shard 0 = the controller group.
  using Key = std::pair<orchestration::ShardId, uint64_t>;
  struct Running {
    std::string name;  // "shard-2-node-1", "controller-1", "node-1"
    ChildProcess process;
  };

  std::string Name(const Key& key) const;
  std::string PeersFlag(const std::vector<PlaygroundProcess>& group) const;
  Status StartLocked(const Key& key, const PlaygroundProcess& p);
  StatusOr<std::string> NextAddressLocked();
  std::vector<std::unique_ptr<Running>> TakeLocked(
      const std::function<bool(const Key&)>& which);
  void StopEach(std::vector<std::unique_ptr<Running>> processes);
  // Stops replica `id` of `shard` if it runs (takes mu_ itself).
  void StopReplica(orchestration::ShardId shard, orchestration::ReplicaId id);

  const std::string binary_;
  const std::string dir_;
  std::atomic<bool> abort_{false};
  mutable std::mutex mu_;
  PlaygroundLayout layout_;                          // GUARDED_BY(mu_)
  std::map<Key, std::unique_ptr<Running>> running_;  // GUARDED_BY(mu_)
  bool stopped_ = false;                             // GUARDED_BY(mu_)
};

std::vector<v1::Member> ToMembers(const std::vector<PlaygroundProcess>& group);

}  // namespace shardkv::cli
