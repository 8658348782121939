// shardkv::orchestration::AdminShardAdmin — ShardAdmin through
// client::AdminClient (the Admin service of a shard's replicas). Where a
// shard's replicas are is asked of a callback (the backend's layout, or the
// slot map's members), so a shard not yet in the map works too.
//
// Thread-safe if the callback is; each call blocks its caller.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "orchestration/shard_admin.h"

namespace shardkv::orchestration {

using ShardEndpoints =
    std::function<StatusOr<std::vector<std::string>>(ShardId)>;

class AdminShardAdmin final : public ShardAdmin {
 public:
  explicit AdminShardAdmin(
      ShardEndpoints endpoints,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  StatusOr<v1::StatusResponse> LeaderStatus(ShardId shard) override;
  Status AddLearner(ShardId shard, ReplicaId id,
                    const std::string& address) override;
  Status Promote(ShardId shard, ReplicaId id) override;
  Status RemoveMember(ShardId shard, ReplicaId id) override;
  Status TransferLeadership(ShardId shard, ReplicaId to) override;

 private:
  ShardEndpoints endpoints_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace shardkv::orchestration
