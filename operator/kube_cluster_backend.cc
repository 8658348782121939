#include "operator/kube_cluster_backend.h"

#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> ControllerEndpoints(const ShardedKV& kv,
                                             const PodAddresses& addresses) {
  std::vector<std::string> endpoints;
  for (int i = 0; i < kv.controller_replicas; ++i) {
    endpoints.push_back(addresses.Address(kv, ControllerSetName(kv), i));
  }
  return endpoints;
}

}  // namespace

KubeClusterBackend::KubeClusterBackend(kube::KubeClient& client,
                                       const ShardedKV& kv,
                                       const PodAddresses& addresses,
                                       std::string default_image)
    : initial_(kv),
      addresses_(addresses),
      infrastructure_(client, kv, addresses, std::move(default_image)),
      controller_(ControllerEndpoints(kv, addresses), milliseconds(10'000)),
      observer_(ControllerEndpoints(kv, addresses), milliseconds(2'000)),
      admin_([this](orchestration::ShardId s) { return Endpoints(s); },
             milliseconds(5'000)),
      quick_admin_([this](orchestration::ShardId s) { return Endpoints(s); },
                   milliseconds(1'000)),
      intents_(client, kv.ns, kv.name) {}

StatusOr<std::vector<std::string>> KubeClusterBackend::Endpoints(
    orchestration::ShardId shard) {
  if (shard == 0) return ControllerEndpoints(initial_, addresses_);
  return infrastructure_.ShardEndpoints(shard);
}

void KubeClusterBackend::UpdateSpec(const ShardedKV& kv) {
  infrastructure_.UpdateSpec(kv);
}

StatusOr<orchestration::ReplicaId> KubeClusterBackend::ReplicaIdAt(
    orchestration::ShardId shard, int ordinal) {
  return infrastructure_.ReplicaIdAt(shard, ordinal);
}

StatusOr<int> KubeClusterBackend::OrdinalOf(orchestration::ShardId shard,
                                            orchestration::ReplicaId id) {
  return infrastructure_.OrdinalOf(shard, id);
}

StatusOr<v1::SlotMap> KubeClusterBackend::ObserveMap() {
  return observer_.GetMap();
}

StatusOr<int> KubeClusterBackend::ObserveLeaderOrdinal(
    orchestration::ShardId shard) {
  auto status = quick_admin_.LeaderStatus(shard);
  if (!status.ok()) return status.status();
  auto endpoints = Endpoints(shard);
  if (!endpoints.ok()) return endpoints.status();
  for (size_t i = 0; i < endpoints->size(); ++i) {
    if ((*endpoints)[i] == status->address()) return static_cast<int>(i);
  }
  return NotFound("the leader " + status->address() + " of shard " +
                  std::to_string(shard) + " is not one of its pods");
}

Status KubeClusterBackend::EnsureControllerIdentity() {
  return infrastructure_.EnsureControllerIdentity();
}

Status KubeClusterBackend::SettleControllerIdentity() {
  return infrastructure_.SettleControllerIdentity();
}

ClusterBackendFactory KubeClusterBackendFactory(kube::KubeClient* client,
                                                const PodAddresses* addresses,
                                                std::string default_image) {
  return [client, addresses, default_image](
             const ShardedKV& kv) -> StatusOr<std::unique_ptr<ClusterBackend>> {
    return std::unique_ptr<ClusterBackend>(
        new KubeClusterBackend(*client, kv, *addresses, default_image));
  };
}

}  // namespace shardkv::op
