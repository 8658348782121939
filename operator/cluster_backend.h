// What the operator needs per ShardedKV to run workflows and observe the
// data plane: the four orchestration interfaces (Infrastructure,
// ControllerApi, ShardAdmin, IntentStore) plus the mapping between pods and
// Raft identities, and quick reads for the status.
//
// The real one is KubeClusterBackend (kube_cluster_backend.h: StatefulSets
// through KubeInfrastructure, the controller over gRPC, the intent in the
// resource's status); tests may inject another (Operator::Options).
//
// Thread-safety: implementations must be safe for two threads at once —
// the cluster's workflow thread (orchestration interfaces) and the
// reconcile thread (Observe*, UpdateSpec, pod <-> identity lookups).
#ifndef SHARDKV_OPERATOR_CLUSTER_BACKEND_H_
#define SHARDKV_OPERATOR_CLUSTER_BACKEND_H_

#include <functional>
#include <memory>

#include "operator/shardedkv.h"
#include "orchestration/controller_api.h"
#include "orchestration/infrastructure.h"
#include "orchestration/intent_store.h"
#include "orchestration/shard_admin.h"

namespace shardkv::op {

class ClusterBackend {
 public:
  virtual ~ClusterBackend() = default;

  virtual orchestration::Infrastructure& infrastructure() = 0;
  virtual orchestration::ControllerApi& controller() = 0;
  virtual orchestration::ShardAdmin& admin() = 0;
  virtual orchestration::IntentStore& intents() = 0;

  // The spec changed (image, replicas, storage): later calls use it.
  virtual void UpdateSpec(const ShardedKV& kv) = 0;

  // The Raft id pod `ordinal` of `shard` runs, and the reverse.
  virtual StatusOr<orchestration::ReplicaId> ReplicaIdAt(
      orchestration::ShardId shard, int ordinal) = 0;
  virtual StatusOr<int> OrdinalOf(orchestration::ShardId shard,
                                  orchestration::ReplicaId id) = 0;

  // For the status, bounded by a short timeout: the slot map, and the
  // ordinal of the shard's (or, for shard 0, the controller group's) Raft
  // leader.
  virtual StatusOr<v1::SlotMap> ObserveMap() = 0;
  virtual StatusOr<int> ObserveLeaderOrdinal(orchestration::ShardId shard) = 0;

  // The controller group's Raft identities (the reconcile thread): the
  // record exists before the controller StatefulSet is applied, and ids of
  // ready controller pods stop being fresh (never during a replacement,
  // which changes the record itself). Backends without identity records need
  // neither.
  virtual Status EnsureControllerIdentity() { return Status::Ok(); }
  virtual Status SettleControllerIdentity() { return Status::Ok(); }
};

using ClusterBackendFactory =
    std::function<StatusOr<std::unique_ptr<ClusterBackend>>(const ShardedKV&)>;

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_CLUSTER_BACKEND_H_
