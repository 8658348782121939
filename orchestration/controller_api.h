// shardkv::orchestration::ControllerApi — the slot-map operations the
// workflows use (proto/shardkv/v1/controller.proto). The real
// implementation is grpc_controller_api.h; tests use a fake.
//
// Implementations say their own thread-safety.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "common/status.h"
#include "orchestration/infrastructure.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::orchestration {

class ControllerApi {
 public:
  virtual ~ControllerApi() = default;

  virtual StatusOr<v1::SlotMap> GetMap() = 0;
  // Joining again with the same id updates the shard's members.
  virtual StatusOr<v1::SlotMap> JoinShard(
      ShardId shard, const std::vector<v1::Member>& members) = 0;
  virtual StatusOr<v1::SlotMap> DrainShard(ShardId shard) = 0;
  virtual StatusOr<v1::SlotMap> CancelDrain(ShardId shard) = 0;
  // Only a drained shard (no slot, no migration) can be removed.
  virtual StatusOr<v1::SlotMap> RemoveShard(ShardId shard) = 0;
  virtual StatusOr<v1::RebalanceResponse> Rebalance() = 0;
};

struct WaitOptions {
  std::chrono::milliseconds timeout{600'000};
  std::chrono::milliseconds poll_interval{200};
  // Called with every map fetched (progress output).
  std::function<void(const v1::SlotMap&)> on_map;
  // Polled between fetches; true stops the wait with CANCELLED.
  std::function<bool()> stop;
};

// Polls GetMap until `done(map)`; returns that map. DEADLINE_EXCEEDED after
// the timeout (the last error is named when the controller was
// unreachable), CANCELLED when `stop` says so. Transient GetMap errors are
// retried until the timeout.
StatusOr<v1::SlotMap> WaitForMap(
    ControllerApi& api, const std::function<bool(const v1::SlotMap&)>& done,
    const WaitOptions& options);

// Map predicates the workflows wait on.
const v1::Shard* FindShard(const v1::SlotMap& map, ShardId shard);
uint32_t SlotsOwnedBy(const v1::SlotMap& map, ShardId shard);
// No migration in flight, no planned move left, every slot assigned and
// confirmed.
bool Balanced(const v1::SlotMap& map);
// The shard owns no slot and no migration names it.
bool Drained(const v1::SlotMap& map, ShardId shard);

}  // namespace shardkv::orchestration
