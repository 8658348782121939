// shardkv::client::ControllerClient — calls to the controller group
// (controller.proto service Controller). Reads of the map (GetMap) are
// served by any controller replica: the client starts at the replica that
// last answered and moves on when one is unreachable. Changes go to the
// controller leader, following NOT_LEADER hints like Client does
// (retrying_call.h). A change is not blindly idempotent: the controller's
// answer to a retried change is returned as is.
//
// Thread-safe; calls block the calling thread (gRPC sync API).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/endpoint_set.h"
#include "client/retrying_call.h"
#include "common/status.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::client {

struct ControllerOptions {
  std::vector<std::string> endpoints;  // controller replicas; at least one
  std::chrono::milliseconds timeout{5000};
  RetryPolicy retry;
};

class ControllerClient {
 public:
  static StatusOr<std::unique_ptr<ControllerClient>> Create(
      ControllerOptions options);

  // The map as one controller replica has applied it (may lag the leader by
  // a few entries; epochs tell which of two maps is newer).
  // `scope` lets a caller give up after one round over the replicas.
  StatusOr<v1::SlotMap> GetMap(
      std::optional<Clock::time_point> deadline = std::nullopt,
      const RetryScope& scope = RetryScope());

  StatusOr<v1::SlotMap> JoinShard(uint32_t shard_id,
                                  const std::vector<v1::Member>& members);
  StatusOr<v1::SlotMap> DrainShard(uint32_t shard_id);
  StatusOr<v1::SlotMap> CancelDrain(uint32_t shard_id);
  StatusOr<v1::SlotMap> RemoveShard(uint32_t shard_id);
  StatusOr<v1::MoveSlotResponse> MoveSlot(uint32_t slot, uint32_t to_shard);
  StatusOr<v1::RebalanceResponse> Rebalance(bool dry_run);

  // The replicas, for a WatchMap stream (map_watcher.h).
  EndpointSet& endpoints() { return endpoints_; }
  const ControllerOptions& options() const { return options_; }

 private:
  explicit ControllerClient(ControllerOptions options);
  shardkv::Status OnLeader(const Attempt& attempt);

  const ControllerOptions options_;
  EndpointSet endpoints_;
};

}  // namespace shardkv::client
