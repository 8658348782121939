// shardkv::op::KubeClusterBackend — the ClusterBackend of a ShardedKV on
// Kubernetes: StatefulSets and PVCs through KubeInfrastructure, the slot
// map through the controller group's gRPC service, Raft membership
// through the shards' Admin service, the workflow intent in the resource's
// status (StatusIntentStore). Pods are dialled at the PodAddresses given
// (DNS names in a cluster, loopback addresses in tests).
//
// Thread-safety: as ClusterBackend requires (every member is thread-safe).
#ifndef SHARDKV_OPERATOR_KUBE_CLUSTER_BACKEND_H_
#define SHARDKV_OPERATOR_KUBE_CLUSTER_BACKEND_H_

#include <memory>
#include <string>

#include "operator/backend/kube_infrastructure.h"
#include "operator/backend/pod_addresses.h"
#include "operator/backend/status_intent_store.h"
#include "operator/cluster_backend.h"
#include "operator/kube/client.h"
#include "orchestration/admin_shard_admin.h"
#include "orchestration/grpc_controller_api.h"

namespace shardkv::op {

class KubeClusterBackend final : public ClusterBackend {
 public:
  KubeClusterBackend(kube::KubeClient& client, const ShardedKV& kv,
                     const PodAddresses& addresses, std::string default_image);

  orchestration::Infrastructure& infrastructure() override {
    return infrastructure_;
  }
  orchestration::ControllerApi& controller() override { return controller_; }
  orchestration::ShardAdmin& admin() override { return admin_; }
  orchestration::IntentStore& intents() override { return intents_; }

  void UpdateSpec(const ShardedKV& kv) override;
  StatusOr<orchestration::ReplicaId> ReplicaIdAt(orchestration::ShardId shard,
                                                 int ordinal) override;
  StatusOr<int> OrdinalOf(orchestration::ShardId shard,
                          orchestration::ReplicaId id) override;
  StatusOr<v1::SlotMap> ObserveMap() override;
  StatusOr<int> ObserveLeaderOrdinal(orchestration::ShardId shard) override;
  Status EnsureControllerIdentity() override;
  Status SettleControllerIdentity() override;

 private:
  // Addresses of the shard's pods; shard 0 is the controller group.
  StatusOr<std::vector<std::string>> Endpoints(orchestration::ShardId shard);

  const ShardedKV initial_;
  const PodAddresses& addresses_;
  KubeInfrastructure infrastructure_;
  orchestration::GrpcControllerApi controller_;  // workflows: patient
  orchestration::GrpcControllerApi observer_;    // status: quick
  orchestration::AdminShardAdmin admin_;
  orchestration::AdminShardAdmin quick_admin_;
  StatusIntentStore intents_;
};

// The factory Operator uses by default.
ClusterBackendFactory KubeClusterBackendFactory(kube::KubeClient* client,
                                                const PodAddresses* addresses,
                                                std::string default_image);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_KUBE_CLUSTER_BACKEND_H_
