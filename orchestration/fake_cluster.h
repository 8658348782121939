// shardkv::orchestration::FakeCluster — an in-memory cluster for the
// workflow tests (and the operator's): it is the Infrastructure, the
// ControllerApi and the ShardAdmin at once. Strict like the real services:
// AddLearner of a member, Promote of a voter, DrainShard of a draining
// shard, RemoveShard of an absent or undrained shard are errors, so a
// workflow step that does not look before it acts fails its test.
// Migrations advance one step per GetMap call (a migration started on one
// call finishes on the next), a few at a time. Rolling upgrades: replicas
// run a version (SetVersion bumps the target); restarting the leader, or a
// second replica before WaitShardReady saw the first back, is an error.
//
// Not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <vector>

#include "orchestration/controller_api.h"
#include "orchestration/infrastructure.h"
#include "orchestration/shard_admin.h"

namespace shardkv::orchestration {

class FakeCluster final : public Infrastructure,
                          public ControllerApi,
                          public ShardAdmin {
 public:
  explicit FakeCluster(uint32_t slot_count = 16, int replicas = 3);

  // Infrastructure
  StatusOr<std::vector<v1::Member>> CreateShard(ShardId shard) override;
  Status DeleteShard(ShardId shard) override;
  StatusOr<std::vector<v1::Member>> ShardReplicas(ShardId shard) override;
  Status WaitShardReady(ShardId shard,
                        std::chrono::milliseconds timeout) override;
  StatusOr<v1::Member> CreateReplica(ShardId shard, ReplicaId id,
                                     ReplicaId replaces) override;
  Status DeleteReplica(ShardId shard, ReplicaId id) override;
  StatusOr<std::vector<ReplicaId>> ReplicasToUpgrade(ShardId shard) override;
  Status RestartReplica(ShardId shard, ReplicaId id) override;

  // ControllerApi
  StatusOr<v1::SlotMap> GetMap() override;
  StatusOr<v1::SlotMap> JoinShard(
      ShardId shard, const std::vector<v1::Member>& members) override;
  StatusOr<v1::SlotMap> DrainShard(ShardId shard) override;
  StatusOr<v1::SlotMap> CancelDrain(ShardId shard) override;
  StatusOr<v1::SlotMap> RemoveShard(ShardId shard) override;
  StatusOr<v1::RebalanceResponse> Rebalance() override;

  // ShardAdmin
  StatusOr<v1::StatusResponse> LeaderStatus(ShardId shard) override;
  Status AddLearner(ShardId shard, ReplicaId id,
                    const std::string& address) override;
  Status Promote(ShardId shard, ReplicaId id) override;
  Status RemoveMember(ShardId shard, ReplicaId id) override;
  Status TransferLeadership(ShardId shard, ReplicaId to) override;

  // Rolling upgrades: the version every replica should run.
  void SetVersion(uint64_t version) { version_ = version; }
  uint64_t VersionOf(ShardId shard, ReplicaId id) const;
  ReplicaId Leader(ShardId shard) const;
  // Replicas restarted, in order, over all shards.
  const std::vector<std::pair<ShardId, ReplicaId>>& restarts() const {
    return restarts_;
  }

  // For assertions.
  const v1::SlotMap& map() const { return map_; }
  bool Runs(ShardId shard) const { return replicas_.count(shard) > 0; }
  std::vector<ReplicaId> RunningReplicas(ShardId shard) const;
  std::vector<v1::Member> RaftMembers(ShardId shard) const;
  int get_map_calls() const { return get_map_calls_; }

 private:
  void Bump() { map_.set_epoch(map_.epoch() + 1); }
  // One step of the controller's driver: finish the migrations in flight,
  // start planned ones, clear `rebalancing` when nothing is left.
  void Advance();
  std::vector<v1::PlannedMove> Plan() const;
  v1::Shard* Find(ShardId shard);

  const int replicas_per_shard_;
  v1::SlotMap map_;
  uint64_t next_migration_id_ = 1;
  int get_map_calls_ = 0;
  std::map<ShardId, std::vector<v1::Member>> replicas_;  // what "runs"
  std::map<ShardId, std::vector<v1::Member>> raft_;      // group membership
  std::map<ShardId, uint64_t> learner_progress_;
  uint64_t version_ = 0;
  std::map<std::pair<ShardId, ReplicaId>, uint64_t> versions_;
  std::map<ShardId, ReplicaId> leaders_;  // absent: the first voter
  std::map<ShardId, ReplicaId> restarting_;
  std::vector<std::pair<ShardId, ReplicaId>> restarts_;
};

}  // namespace shardkv::orchestration
