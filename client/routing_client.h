// shardkv::client::RoutingClient — the client of a sharded cluster (and of
// a single unsharded shard), routing each key to the shard owning it.
//
//   RoutingClientOptions opts;
//   opts.endpoints = {"127.0.0.1:7000"};  // the controller or any node
//   auto client = RoutingClient::Create(opts);  // discovers the slot map
//   auto set = (*client)->Set("k", "v");
//   auto get = (*client)->Get("k", Consistency::kStale);
//
// Discovery (Create): each endpoint is asked Controller.GetMap; a shard node
// answers UNIMPLEMENTED, and its Admin.Status names the controller
// (controller_endpoints). A node without a controller is an unsharded
// single shard: the client then behaves exactly like Client (kv_client.h)
// on the given endpoints.
//
// Routing: slot = SlotOf(key, slot_count) (common/slot.h) -> owner shard ->
// the shard's believed leader (NOT_LEADER hints are followed and remembered
// per shard); stale reads go to any replica of the owner. The map is cached
// (slot_map_cache.h: epochs never go back), kept fresh by a background
// WatchMap stream (reconnects with backoff) and refreshed on demand:
//   WRONG_SHARD      refresh at once when the shard knows a newer epoch than
//                    ours, else after a short delay; retry at the new owner;
//   SLOT_MIGRATING   back off (at most 50 ms: a freeze lasts milliseconds),
//                    re-resolve the slot, retry;
//   unreachable      every replica of the owner tried: refresh, back off,
//                    retry.
// All of it within the caller's deadline. A write keeps one RequestId for
// all its retries, across shards too (the target of a migration inherits
// the source's de-duplication sessions). If the controller is unreachable
// the cached map keeps serving.
//
// No client-side batching: gRPC multiplexes concurrent calls on one HTTP/2
// connection per address, and the shard leader already batches them
// (ReadIndex rounds, group commit of Raft entries); see docs/api.md.
//
// Errors are those of Client (kv_client.h). Thread-safe: one RoutingClient
// may be shared by any number of threads; calls block the calling thread.
// Owns one thread ("map-watch") while sharded and watch_map is set.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/kv_client.h"
#include "client/retrying_call.h"
#include "client/session_pool.h"
#include "client/slot_map_cache.h"
#include "common/status.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::client {

class ShardRouter;  // shard_router.h

struct RoutingClientOptions {
  // host:port of the controller's replicas or of any node; at least one.
  std::vector<std::string> endpoints;
  // Default deadline of a call, retries and map refreshes included; also
  // bounds discovery in Create().
  std::chrono::milliseconds timeout{5000};
  RetryPolicy retry;
  // Stale reads start at the owner's first replica unless this spreads
  // them round-robin over the owner's replicas.
  bool spread_stale_reads = false;
  // Keep a WatchMap stream open in the background.
  bool watch_map = true;
  // On WRONG_SHARD from a shard that knows no newer epoch than ours (it
  // lags behind the map), wait this long before refreshing and retrying.
  std::chrono::milliseconds lagging_shard_delay{20};
};

// Counters for tests and diagnostics (monotonic).
struct RoutingStats {
  uint64_t map_fetches = 0;     // GetMap calls that returned a map
  uint64_t maps_accepted = 0;   // maps that advanced the epoch
  uint64_t maps_ignored = 0;    // maps not newer than the cached one
  uint64_t wrong_shard = 0;     // WRONG_SHARD answers seen
  uint64_t slot_migrating = 0;  // SLOT_MIGRATING answers seen
  uint64_t watch_connects = 0;  // WatchMap streams opened
};

class RoutingClient {
 public:
  // Discovers the cluster (see above). kInvalidArgument for bad options;
  // kUnavailable when no endpoint answered before the timeout.
  static StatusOr<std::unique_ptr<RoutingClient>> Create(
      RoutingClientOptions options);
  ~RoutingClient();

  RoutingClient(const RoutingClient&) = delete;
  RoutingClient& operator=(const RoutingClient&) = delete;

  StatusOr<GetResult> Get(
      std::string_view key,
      Consistency consistency = Consistency::kLinearizable,
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  StatusOr<SetResult> Set(std::string_view key, std::string_view value,
                          const SetOptions& options = {});
  StatusOr<DeleteResult> Delete(std::string_view key,
                                const DeleteOptions& options = {});

  // False for an unsharded single shard (no controller).
  bool sharded() const;
  // The cached map; nullptr when unsharded.
  std::shared_ptr<const v1::SlotMap> slot_map() const;
  // Fetches the map from the controller now (any replica); the cached map
  // stays when that fails or returns an older epoch. OK when unsharded.
  Status RefreshMap(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // The shard owning `key` in the cached map (0: unsharded or unassigned).
  uint32_t ShardOf(std::string_view key) const;
  // Where the controller is (empty when unsharded).
  std::vector<std::string> controller_endpoints() const;
  RoutingStats stats() const;
  const RoutingClientOptions& options() const { return options_; }

 private:
  explicit RoutingClient(RoutingClientOptions options);

  const RoutingClientOptions options_;
  // Exactly one is set.
  std::unique_ptr<Client> single_shard_;
  std::unique_ptr<ShardRouter> router_;
};

}  // namespace shardkv::client
