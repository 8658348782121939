// shardkv::op::KubeInfrastructure — the Kubernetes backend of the
// orchestration workflows (orchestration/infrastructure.h) for one
// ShardedKV: a shard is a StatefulSet "<name>-shard-<id>" with a headless
// Service and a PodDisruptionBudget (desired_objects.h); a replica is one
// pod with one PVC.
//
// Raft identities. A pod's Raft id is not its ordinal: a replica that lost
// its disk must come back under a NEW id (never reuse a disk, or the lack
// of one, under an old identity). Each shard has an identity record, the
// ConfigMap "<set>-identity" (ShardIdentityName), mounted into the pods:
//   replica-<ordinal>  the Raft id of that pod ("1"; initial ids are
//                      ordinal + 1, replacements the next unused id)
//   fresh              ids allowed to start on an empty data dir (created
//                      and not yet known to have started): the initial
//                      ids bootstrap the group, a replacement id joins it
//   incarnation        a token new with every CreateShard
// The pod script (desired_objects.cc) writes "<incarnation> <id>" into the
// data dir on first start and refuses to start when the data dir holds
// another incarnation or id (a stale disk), or is empty while its id is
// not fresh (a lost disk under an id that already ran). The record drops
// ids from `fresh` once the shard is ready (WaitShardReady) or the
// replacement is done (DeleteReplica of the old id).
//
// PVCs: kept on scale-in when spec.storage.retainOnScaleIn, deleted
// otherwise; a replica's replacement always deletes its old PVC.
// CreateShard of a shard whose retained PVCs of an earlier incarnation are
// still there fails (FAILED_PRECONDITION naming them): they are never
// reused nor deleted silently.
//
// Rolling upgrade: ReplicasToUpgrade applies the shard's StatefulSet from
// the current spec (UpdateSpec) and lists the pods not at the set's
// updateRevision (updateStrategy OnDelete: the StatefulSet controller
// never restarts pods itself); RestartReplica deletes one pod, which the
// StatefulSet controller recreates from the new template.
//
// Shard 0 is the controller group, in every replica-level call
// (ShardReplicas, WaitShardReady, CreateReplica, DeleteReplica,
// ReplicasToUpgrade, RestartReplica, ReplicaIdAt, OrdinalOf,
// ShardEndpoints): its StatefulSet "<name>-controller" is the reconciler's
// to apply, and its identity record "<name>-controller-identity" follows
// the same scheme, so a controller replica is replaced the way a shard
// replica is. The reconciler creates that record before it applies the
// set (EnsureControllerIdentity) and drops ready pods' ids from its
// `fresh` while no replacement runs (SettleControllerIdentity). CreateShard
// and DeleteShard never take shard 0.
//
// Thread-safety: all methods may be called from any thread; the workflows
// call one at a time. Blocking calls (waits) poll the API server.
#ifndef SHARDKV_OPERATOR_BACKEND_KUBE_INFRASTRUCTURE_H_
#define SHARDKV_OPERATOR_BACKEND_KUBE_INFRASTRUCTURE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "operator/backend/identity_record.h"
#include "operator/backend/pod_addresses.h"
#include "operator/kube/client.h"
#include "operator/shardedkv.h"
#include "orchestration/infrastructure.h"

namespace shardkv::op {

class KubeInfrastructure final : public orchestration::Infrastructure {
 public:
  KubeInfrastructure(kube::KubeClient& client, ShardedKV kv,
                     const PodAddresses& addresses, std::string default_image);

  // The spec the next calls use (a changed image, replicas, storage).
  void UpdateSpec(ShardedKV kv);
  ShardedKV spec() const;

  // The Raft id of pod `ordinal` of `shard` (identity record).
  StatusOr<orchestration::ReplicaId> ReplicaIdAt(orchestration::ShardId shard,
                                                 int ordinal);
  // The ordinal that runs Raft id `id` (NOT_FOUND when none does).
  StatusOr<int> OrdinalOf(orchestration::ShardId shard,
                          orchestration::ReplicaId id);
  // Addresses of the shard's pods (for AdminShardAdmin's ShardEndpoints).
  std::vector<std::string> ShardEndpoints(orchestration::ShardId shard) const;

  // Creates the controller group's identity record (initial ids, all
  // fresh) unless it exists. OK once it exists (remembered: one API call
  // per backend, not per reconcile).
  Status EnsureControllerIdentity();
  // Drops from the controller record's `fresh` the ids of ready controller
  // pods; a no-op once `fresh` was seen empty, until the next controller
  // CreateReplica. Never call it while a replacement runs: its own steps
  // change the record and settle the id they add.
  Status SettleControllerIdentity();

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
  StatusOr<std::vector<orchestration::ReplicaId>> ReplicasToUpgrade(
      orchestration::ShardId shard) override;
  Status RestartReplica(orchestration::ShardId shard,
                        orchestration::ReplicaId id) override;

 private:
  StatusOr<IdentityRecord> Identity(orchestration::ShardId shard);
  // Read-modify-write of the record (retried on a concurrent change).
  Status UpdateIdentity(orchestration::ShardId shard,
                        const std::function<Status(IdentityRecord&)>& change);
  // Drops from `fresh` the ids of ordinals whose pods are ready.
  Status SettleFresh(orchestration::ShardId shard);
  Status ApplyShardObjects(const ShardedKV& kv, orchestration::ShardId shard);
  // Creates the identity record of a new group (shard 0: the controller)
  // with `replicas` initial ids; one created meanwhile is fine.
  Status CreateIdentityRecord(const ShardedKV& kv, orchestration::ShardId shard,
                              int replicas);
  // Deletes the claim and the pod of `ordinal` and waits until both went.
  Status WipeOrdinal(const ShardedKV& kv, orchestration::ShardId shard,
                     int ordinal);
  Status DeletePods(const ShardedKV& kv, orchestration::ShardId shard);
  // ReplicasToUpgrade of the controller group (ids are ordinal + 1).
  StatusOr<std::vector<orchestration::ReplicaId>> ControllerReplicasToUpgrade(
      const ShardedKV& kv);
  Status DeleteClaims(const ShardedKV& kv, orchestration::ShardId shard,
                      bool wait);

  kube::KubeClient& client_;
  const PodAddresses& addresses_;
  const std::string default_image_;
  mutable std::mutex mu_;
  ShardedKV kv_;  // GUARDED_BY(mu_)
  std::atomic<bool> controller_identity_exists_{false};
  std::atomic<bool> controller_settled_{false};
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_KUBE_INFRASTRUCTURE_H_
