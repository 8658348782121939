#include "client/controller_client.h"

#include <utility>

namespace shardkv::client {

StatusOr<std::unique_ptr<ControllerClient>> ControllerClient::Create(
    ControllerOptions options) {
  if (options.endpoints.empty()) {
    return InvalidArgument("no controller endpoints given");
  }
  for (const std::string& e : options.endpoints) {
    if (e.empty() || e.find(':') == std::string::npos) {
      return InvalidArgument("endpoint '" + e + "' is not host:port");
    }
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgument("timeout must be positive");
  }
  return std::unique_ptr<ControllerClient>(
      new ControllerClient(std::move(options)));
}

ControllerClient::ControllerClient(ControllerOptions options)
    : options_(std::move(options)), endpoints_(options_.endpoints) {}

StatusOr<v1::SlotMap> ControllerClient::GetMap(
    std::optional<Clock::time_point> deadline, const RetryScope& scope) {
  v1::GetMapRequest request;
  v1::SlotMap map;
  // kLeader routing only picks the start (the last replica that answered);
  // GetMap itself is served by followers too, so NOT_LEADER never comes.
  CallOutcome outcome = CallWithRetry(
      endpoints_, Route::kLeader, 0, options_.retry,
      deadline.value_or(Clock::now() + options_.timeout),
      [&](Endpoint& e, grpc::ClientContext* c) {
        map.Clear();
        return e.controller->GetMap(c, request, &map);
      },
      scope);
  if (!outcome.status.ok()) return outcome.status;
  return map;
}

shardkv::Status ControllerClient::OnLeader(const Attempt& attempt) {
  return CallWithRetry(endpoints_, Route::kLeader, 0, options_.retry,
                       Clock::now() + options_.timeout, attempt)
      .status;
}

StatusOr<v1::SlotMap> ControllerClient::JoinShard(
    uint32_t shard_id, const std::vector<v1::Member>& members) {
  v1::JoinShardRequest request;
  request.set_shard_id(shard_id);
  for (const v1::Member& m : members) *request.add_members() = m;
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->JoinShard(c, request, &map);
  }));
  return map;
}

StatusOr<v1::SlotMap> ControllerClient::DrainShard(uint32_t shard_id) {
  v1::DrainShardRequest request;
  request.set_shard_id(shard_id);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->DrainShard(c, request, &map);
  }));
  return map;
}

StatusOr<v1::SlotMap> ControllerClient::CancelDrain(uint32_t shard_id) {
  v1::CancelDrainRequest request;
  request.set_shard_id(shard_id);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->CancelDrain(c, request, &map);
  }));
  return map;
}

StatusOr<v1::SlotMap> ControllerClient::RemoveShard(uint32_t shard_id) {
  v1::RemoveShardRequest request;
  request.set_shard_id(shard_id);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->RemoveShard(c, request, &map);
  }));
  return map;
}

StatusOr<v1::MoveSlotResponse> ControllerClient::MoveSlot(uint32_t slot,
                                                          uint32_t to_shard) {
  v1::MoveSlotRequest request;
  request.set_slot(slot);
  request.set_to_shard(to_shard);
  v1::MoveSlotResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->MoveSlot(c, request, &response);
  }));
  return response;
}

StatusOr<v1::RebalanceResponse> ControllerClient::Rebalance(bool dry_run) {
  v1::RebalanceRequest request;
  request.set_dry_run(dry_run);
  v1::RebalanceResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.controller->Rebalance(c, request, &response);
  }));
  return response;
}

}  // namespace shardkv::client
