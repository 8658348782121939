// shardkv::orchestration::GrpcControllerApi — ControllerApi over the
// shardkv.v1.Controller gRPC service: mutations go to the controller leader
// (following NOT_LEADER hints, retrying unreachable replicas within the
// timeout, client/retrying_call.h); GetMap is answered by any replica.
//
// Thread-safe (the EndpointSet is; each call blocks its caller).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "client/endpoint_set.h"
#include "client/retrying_call.h"
#include "orchestration/controller_api.h"

namespace shardkv::orchestration {

class GrpcControllerApi final : public ControllerApi {
 public:
  // REQUIRES: !endpoints.empty() (the controller group's addresses).
  explicit GrpcControllerApi(
      const std::vector<std::string>& endpoints,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

  StatusOr<v1::SlotMap> GetMap() override;
  StatusOr<v1::SlotMap> JoinShard(
      ShardId shard, const std::vector<v1::Member>& members) override;
  StatusOr<v1::SlotMap> DrainShard(ShardId shard) override;
  StatusOr<v1::SlotMap> CancelDrain(ShardId shard) override;
  StatusOr<v1::SlotMap> RemoveShard(ShardId shard) override;
  StatusOr<v1::RebalanceResponse> Rebalance() override;

 private:
  Status Call(client::Route route, const client::Attempt& attempt);

  const std::chrono::milliseconds timeout_;
  client::RetryPolicy retry_;
  client::EndpointSet endpoints_;
};

}  // namespace shardkv::orchestration
