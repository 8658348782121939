// Test support: a ClusterBackend over orchestration::FakeCluster (an
// in-memory cluster: infrastructure, controller and shard admin at once)
// and a MemoryIntentStore, made thread-safe with one mutex, so the
// operator's control loop runs against it without any data plane. The
// replica at ordinal i of a shard is Raft id i + 1 until replaced; a
// replacement takes the ordinal of the replica it replaces.
//
// Thread-safety: every method locks; the FakeCluster is reachable through
// WithCluster() for assertions and fault injection.
#ifndef SHARDKV_OPERATOR_FAKE_CLUSTER_BACKEND_H_
#define SHARDKV_OPERATOR_FAKE_CLUSTER_BACKEND_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "operator/cluster_backend.h"
#include "orchestration/fake_cluster.h"

namespace shardkv::op {

class FakeClusterBackend final : public ClusterBackend,
                                 private orchestration::Infrastructure,
                                 private orchestration::ControllerApi,
                                 private orchestration::ShardAdmin,
                                 private orchestration::IntentStore {
 public:
  explicit FakeClusterBackend(uint32_t slot_count = 16, int replicas = 3);

  orchestration::Infrastructure& infrastructure() override { return *this; }
  orchestration::ControllerApi& controller() override { return *this; }
  orchestration::ShardAdmin& admin() override { return *this; }
  orchestration::IntentStore& intents() override { return *this; }

  void UpdateSpec(const ShardedKV& kv) override;
  StatusOr<orchestration::ReplicaId> ReplicaIdAt(orchestration::ShardId shard,
                                                 int ordinal) override;
  StatusOr<int> OrdinalOf(orchestration::ShardId shard,
                          orchestration::ReplicaId id) override;
  StatusOr<v1::SlotMap> ObserveMap() override;
  StatusOr<int> ObserveLeaderOrdinal(orchestration::ShardId shard) override;

  // Runs `fn` on the fake cluster under the lock.
  void WithCluster(const std::function<void(orchestration::FakeCluster&)>& fn);
  std::optional<orchestration::Intent> recorded();
  // Makes every controller call fail with UNAVAILABLE (true) or work again.
  void SetControllerDown(bool down);
  // While closed, a workflow's GetMap (not ObserveMap) made during one of
  // its waits (a recorded step named "wait-...") blocks until the gate
  // opens, at most 30 s: a test acts while the workflow waits.
  void SetMapGate(bool closed);
  int spec_updates();

 private:
  // Infrastructure
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
  StatusOr<std::vector<orchestration::ReplicaId>> ReplicasToUpgrade(
      orchestration::ShardId shard) override;
  Status RestartReplica(orchestration::ShardId shard,
                        orchestration::ReplicaId id) override;
  // ControllerApi
  StatusOr<v1::SlotMap> GetMap() override;
  StatusOr<v1::SlotMap> JoinShard(
      orchestration::ShardId shard,
      const std::vector<v1::Member>& members) override;
  StatusOr<v1::SlotMap> DrainShard(orchestration::ShardId shard) override;
  StatusOr<v1::SlotMap> CancelDrain(orchestration::ShardId shard) override;
  StatusOr<v1::SlotMap> RemoveShard(orchestration::ShardId shard) override;
  StatusOr<v1::RebalanceResponse> Rebalance() override;
  // ShardAdmin
  StatusOr<v1::StatusResponse> LeaderStatus(
      orchestration::ShardId shard) override;
  Status AddLearner(orchestration::ShardId shard, orchestration::ReplicaId id,
                    const std::string& address) override;
  Status Promote(orchestration::ShardId shard,
                 orchestration::ReplicaId id) override;
  Status RemoveMember(orchestration::ShardId shard,
                      orchestration::ReplicaId id) override;
  Status TransferLeadership(orchestration::ShardId shard,
                            orchestration::ReplicaId to) override;
  // IntentStore
  StatusOr<std::optional<orchestration::Intent>> Load() override;
  Status Save(const orchestration::Intent& intent) override;
  Status Clear() override;

  Status ControllerCheckLocked() const;

  std::mutex mu_;
  std::condition_variable gate_cv_;
  orchestration::FakeCluster cluster_;           // GUARDED_BY
  std::optional<orchestration::Intent> intent_;  // GUARDED_BY
  std::map<std::pair<orchestration::ShardId, orchestration::ReplicaId>, int>
      ordinals_;                  // GUARDED_BY
  bool controller_down_ = false;  // GUARDED_BY
  bool gate_closed_ = false;      // GUARDED_BY
  int spec_updates_ = 0;          // GUARDED_BY
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_FAKE_CLUSTER_BACKEND_H_
