// The sharded half of RoutingClient (routing_client.h explains the
// behaviour): the slot map cache, its background watcher, the per-shard
// replica sets and the routing loop that turns WRONG_SHARD, SLOT_MIGRATING
// and unreachable shards into map refreshes and retries.
//
// Thread-safe. Map refreshes are single-flight: callers that hit the same
// stale map while a GetMap is in flight wait for it instead of sending
// their own.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "client/controller_client.h"
#include "client/kv_client.h"
#include "client/map_watcher.h"
#include "client/retrying_call.h"
#include "client/routing_client.h"
#include "client/session_pool.h"
#include "client/shard_endpoints.h"
#include "client/slot_map_cache.h"

namespace shardkv::client {

class ShardRouter {
 public:
  // REQUIRES: ValidateSlotMap(initial).ok()
  ShardRouter(const RoutingClientOptions& options,
              std::unique_ptr<ControllerClient> controller,
              const v1::SlotMap& initial);
  ~ShardRouter();

  StatusOr<GetResult> Get(std::string_view key, Consistency consistency,
                          Clock::time_point deadline);
  StatusOr<SetResult> Set(std::string_view key, std::string_view value,
                          const SetOptions& options,
                          Clock::time_point deadline);
  StatusOr<DeleteResult> Delete(std::string_view key,
                                const DeleteOptions& options,
                                Clock::time_point deadline);

  // Fetches the map unless another fetch finished after `since` (then that
  // one's result is as fresh as ours would be).
  Status RefreshMap(Clock::time_point since, Clock::time_point deadline);

  const SlotMapCache& cache() const { return cache_; }
  std::vector<std::string> controller_endpoints() const {
    return controller_->options().endpoints;
  }
  RoutingStats stats() const;

 private:
  // Runs `attempt` at the shard owning `key` until it succeeds, fails with
  // an answer no refresh can change, or the deadline passes.
  CallOutcome RouteCall(std::string_view key, Route route,
                        Clock::time_point deadline, const Attempt& attempt);
  // A write: one session (RequestId) for every retry, at any shard.
  Status RouteWrite(std::string_view key, Clock::time_point deadline,
                    const std::function<void(uint64_t, uint64_t)>& tag,
                    const Attempt& attempt);

  const RoutingClientOptions options_;
  const std::unique_ptr<ControllerClient> controller_;
  SlotMapCache cache_;
  ShardEndpoints shards_;
  SessionPool sessions_;

  std::timed_mutex refresh_mu_;          // single-flight GetMap
  Clock::time_point last_fetch_done_{};  // GUARDED_BY(refresh_mu_)
  std::atomic<uint64_t> map_fetches_{0};
  std::atomic<uint64_t> maps_accepted_{0};
  std::atomic<uint64_t> wrong_shard_{0};
  std::atomic<uint64_t> slot_migrating_{0};

  // Last: started once everything it touches exists, stopped first.
  std::unique_ptr<MapWatcher> watcher_;
};

}  // namespace shardkv::client
