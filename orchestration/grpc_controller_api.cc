#include "orchestration/grpc_controller_api.h"

#include "shardkv/v1/controller.grpc.pb.h"

namespace shardkv::orchestration {

using client::Endpoint;
using client::Route;

GrpcControllerApi::GrpcControllerApi(const std::vector<std::string>& endpoints,
                                     std::chrono::milliseconds timeout)
    : timeout_(timeout), endpoints_(endpoints) {}

Status GrpcControllerApi::Call(Route route, const client::Attempt& attempt) {
  size_t first = route == Route::kAnyReplica ? endpoints_.leader() : 0;
  return client::CallWithRetry(endpoints_, route, first, retry_,
                               client::Clock::now() + timeout_, attempt)
      .status;
}

StatusOr<v1::SlotMap> GrpcControllerApi::GetMap() {
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kAnyReplica, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->GetMap(c, v1::GetMapRequest(), &map);
      }));
  return map;
}

StatusOr<v1::SlotMap> GrpcControllerApi::JoinShard(
    ShardId shard, const std::vector<v1::Member>& members) {
  v1::JoinShardRequest request;
  request.set_shard_id(shard);
  for (const v1::Member& m : members) *request.add_members() = m;
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kLeader, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->JoinShard(c, request, &map);
      }));
  return map;
}

StatusOr<v1::SlotMap> GrpcControllerApi::DrainShard(ShardId shard) {
  v1::DrainShardRequest request;
  request.set_shard_id(shard);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kLeader, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->DrainShard(c, request, &map);
      }));
  return map;
}

StatusOr<v1::SlotMap> GrpcControllerApi::CancelDrain(ShardId shard) {
  v1::CancelDrainRequest request;
  request.set_shard_id(shard);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kLeader, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->CancelDrain(c, request, &map);
      }));
  return map;
}

StatusOr<v1::SlotMap> GrpcControllerApi::RemoveShard(ShardId shard) {
  v1::RemoveShardRequest request;
  request.set_shard_id(shard);
  v1::SlotMap map;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kLeader, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->RemoveShard(c, request, &map);
      }));
  return map;
}

StatusOr<v1::RebalanceResponse> GrpcControllerApi::Rebalance() {
  v1::RebalanceResponse response;
  SHARDKV_RETURN_IF_ERROR(
      Call(Route::kLeader, [&](Endpoint& e, grpc::ClientContext* c) {
        return e.controller->Rebalance(c, v1::RebalanceRequest(), &response);
      }));
  return response;
}

}  // namespace shardkv::orchestration
