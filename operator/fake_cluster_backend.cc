#include "operator/fake_cluster_backend.h"

namespace shardkv::op {

using orchestration::Intent;
using orchestration::ReplicaId;
using orchestration::ShardId;
using Lock = std::unique_lock<std::mutex>;

FakeClusterBackend::FakeClusterBackend(uint32_t slot_count, int replicas)
    : cluster_(slot_count, replicas) {}

void FakeClusterBackend::UpdateSpec(const ShardedKV&) {
  Lock lock(mu_);
  ++spec_updates_;
}

int FakeClusterBackend::spec_updates() {
  Lock lock(mu_);
  return spec_updates_;
}

StatusOr<ReplicaId> FakeClusterBackend::ReplicaIdAt(ShardId shard,
                                                    int ordinal) {
  Lock lock(mu_);
  ReplicaId found = ordinal + 1;
  for (const auto& [key, at] : ordinals_) {
    if (key.first == shard && at == ordinal) found = key.second;
  }
  return found;
}

StatusOr<int> FakeClusterBackend::OrdinalOf(ShardId shard, ReplicaId id) {
  Lock lock(mu_);
  auto it = ordinals_.find({shard, id});
  if (it != ordinals_.end()) return it->second;
  return static_cast<int>(id) - 1;
}

StatusOr<v1::SlotMap> FakeClusterBackend::ObserveMap() {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.map();
}

StatusOr<int> FakeClusterBackend::ObserveLeaderOrdinal(ShardId shard) {
  Lock lock(mu_);
  if (shard == 0) return 0;
  auto status = cluster_.LeaderStatus(shard);
  if (!status.ok()) return status.status();
  auto it = ordinals_.find({shard, status->leader_id()});
  if (it != ordinals_.end()) return it->second;
  return static_cast<int>(status->leader_id()) - 1;
}

void FakeClusterBackend::WithCluster(
    const std::function<void(orchestration::FakeCluster&)>& fn) {
  Lock lock(mu_);
  fn(cluster_);
}

std::optional<Intent> FakeClusterBackend::recorded() {
  Lock lock(mu_);
  return intent_;
}

void FakeClusterBackend::SetControllerDown(bool down) {
  Lock lock(mu_);
  controller_down_ = down;
}

void FakeClusterBackend::SetMapGate(bool closed) {
  Lock lock(mu_);
  gate_closed_ = closed;
  gate_cv_.notify_all();
}

Status FakeClusterBackend::ControllerCheckLocked() const {
  if (controller_down_) return Unavailable("controller down (test)");
  return Status::Ok();
}

// Infrastructure
StatusOr<std::vector<v1::Member>> FakeClusterBackend::CreateShard(
    ShardId shard) {
  Lock lock(mu_);
  return cluster_.CreateShard(shard);
}
Status FakeClusterBackend::DeleteShard(ShardId shard) {
  Lock lock(mu_);
  return cluster_.DeleteShard(shard);
}
StatusOr<std::vector<v1::Member>> FakeClusterBackend::ShardReplicas(
    ShardId shard) {
  Lock lock(mu_);
  return cluster_.ShardReplicas(shard);
}
Status FakeClusterBackend::WaitShardReady(ShardId shard,
                                          std::chrono::milliseconds timeout) {
  Lock lock(mu_);
  return cluster_.WaitShardReady(shard, timeout);
}
StatusOr<v1::Member> FakeClusterBackend::CreateReplica(ShardId shard,
                                                       ReplicaId id,
                                                       ReplicaId replaces) {
  Lock lock(mu_);
  auto old = ordinals_.find({shard, replaces});
  ordinals_[{shard, id}] =
      old != ordinals_.end() ? old->second : static_cast<int>(replaces) - 1;
  return cluster_.CreateReplica(shard, id, replaces);
}
Status FakeClusterBackend::DeleteReplica(ShardId shard, ReplicaId id) {
  Lock lock(mu_);
  return cluster_.DeleteReplica(shard, id);
}
StatusOr<std::vector<ReplicaId>> FakeClusterBackend::ReplicasToUpgrade(
    ShardId shard) {
  Lock lock(mu_);
  return cluster_.ReplicasToUpgrade(shard);
}
Status FakeClusterBackend::RestartReplica(ShardId shard, ReplicaId id) {
  Lock lock(mu_);
  return cluster_.RestartReplica(shard, id);
}

// ControllerApi
StatusOr<v1::SlotMap> FakeClusterBackend::GetMap() {
  Lock lock(mu_);
  auto waiting = [this] {
    return gate_closed_ && intent_.has_value() &&
           intent_->step.rfind("wait-", 0) == 0;
  };
  gate_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !waiting(); });
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.GetMap();
}
StatusOr<v1::SlotMap> FakeClusterBackend::JoinShard(
    ShardId shard, const std::vector<v1::Member>& members) {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.JoinShard(shard, members);
}
StatusOr<v1::SlotMap> FakeClusterBackend::DrainShard(ShardId shard) {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.DrainShard(shard);
}
StatusOr<v1::SlotMap> FakeClusterBackend::CancelDrain(ShardId shard) {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.CancelDrain(shard);
}
StatusOr<v1::SlotMap> FakeClusterBackend::RemoveShard(ShardId shard) {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.RemoveShard(shard);
}
StatusOr<v1::RebalanceResponse> FakeClusterBackend::Rebalance() {
  Lock lock(mu_);
  SHARDKV_RETURN_IF_ERROR(ControllerCheckLocked());
  return cluster_.Rebalance();
}

// ShardAdmin
StatusOr<v1::StatusResponse> FakeClusterBackend::LeaderStatus(ShardId shard) {
  Lock lock(mu_);
  return cluster_.LeaderStatus(shard);
}
Status FakeClusterBackend::AddLearner(ShardId shard, ReplicaId id,
                                      const std::string& address) {
  Lock lock(mu_);
  return cluster_.AddLearner(shard, id, address);
}
Status FakeClusterBackend::Promote(ShardId shard, ReplicaId id) {
  Lock lock(mu_);
  return cluster_.Promote(shard, id);
}
Status FakeClusterBackend::RemoveMember(ShardId shard, ReplicaId id) {
  Lock lock(mu_);
  return cluster_.RemoveMember(shard, id);
}
Status FakeClusterBackend::TransferLeadership(ShardId shard, ReplicaId to) {
  Lock lock(mu_);
  return cluster_.TransferLeadership(shard, to);
}

// IntentStore
StatusOr<std::optional<Intent>> FakeClusterBackend::Load() {
  Lock lock(mu_);
  return intent_;
}
Status FakeClusterBackend::Save(const Intent& intent) {
  Lock lock(mu_);
  intent_ = intent;
  return Status::Ok();
}
Status FakeClusterBackend::Clear() {
  Lock lock(mu_);
  intent_.reset();
  return Status::Ok();
}

}  // namespace shardkv::op
