// Target (target.h) for shardkv through gRPC's callback API: no thread per
// client; completions run on gRPC's small internal pool, so 64 closed-loop
// clients cost about one core less than the sync API would. Writes carry a
// RequestId (one session per closed-loop client).
//
// Connect() asks the cluster what --endpoints names (the discovery of
// client/routing_client.h: a controller, a node of a sharded cluster, or a
// node of an unsharded shard):
//  - unsharded (no controller): every request goes to the given replicas'
//    leader; NOT_LEADER hints and unreachable replicas are retried a few
//    times with the same request id, then reported as errors (as before
//    the bench could route).
//  - sharded: the RoutingClient keeps the slot map cached and fresh (its
//    WatchMap stream); each key goes to the leader of the shard owning its
//    slot (client/shard_endpoints.h keeps each shard's believed leader),
//    a stale read to any replica of that shard, round-robin. Until the
//    request's deadline (start + timeout): NOT_LEADER follows the hint or
//    tries the next replica; WRONG_SHARD and a shard with every replica
//    unreachable refresh the map (one shared GetMap, retry_scheduler.h)
//    and retry at the new owner; SLOT_MIGRATING backs off (<= 50 ms) and
//    re-resolves the slot. The RoutingClient's own calls block, so the
//    bench does not call them per request: it routes asynchronously with
//    the library's pieces (SlotMapCache, ShardEndpoints, BackoffDelay).
//
// With batch_in_flight > 0 the requests of all closed-loop clients to one
// replica travel in KV.Batch calls (kv_batcher.h): one batcher per replica
// address (replica_pool.h), so each shard's leader gets its own batches;
// each request keeps its own outcome and retries.
//
// Thread-safe per target.h's contract. Destroy only when no operation is
// in flight (RunClosedLoop returned).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/bench/replica_pool.h"
#include "client/bench/retry_scheduler.h"
#include "client/bench/target.h"
#include "client/endpoint_set.h"
#include "client/routing_client.h"
#include "client/session_pool.h"
#include "client/shard_endpoints.h"

namespace shardkv::bench {

struct ShardkvTargetOptions {
  std::vector<std::string> endpoints;
  int clients = 64;
  bool stale_reads = false;  // spread round-robin over the replicas
  // Unsharded: of each attempt. Sharded: of each request, retries included.
  std::chrono::milliseconds timeout{5000};
  // 0: one call per request. N > 0: KV.Batch, N calls in flight per
  // replica, at most batch_max_items requests each.
  int batch_in_flight = 0;
  int batch_max_items = 256;
  // Sharded only: backoff of WRONG_SHARD from a lagging shard, unreachable
  // shards and SLOT_MIGRATING (capped at 50 ms).
  client::RetryPolicy retry{std::chrono::milliseconds(2000),
                            std::chrono::milliseconds(10),
                            std::chrono::milliseconds(200)};
};

// Monotonic counters of the sharded routing (all 0 when unsharded).
struct ShardkvRoutingStats {
  uint64_t wrong_shard = 0;     // WRONG_SHARD answers, each retried
  uint64_t slot_migrating = 0;  // SLOT_MIGRATING answers, each retried
  uint64_t not_leader = 0;      // NOT_LEADER answers, each retried
  uint64_t unreachable = 0;     // transport failures, each retried
  uint64_t map_refreshes = 0;   // GetMap calls made for retries
  uint64_t map_epoch = 0;       // of the cached map now
  size_t shards = 0;            // in the cached map
  size_t replicas_used = 0;     // node addresses the bench sent to
};

class ShardkvTarget : public Target {
 public:
  explicit ShardkvTarget(const ShardkvTargetOptions& options);
  ~ShardkvTarget() override;

  // Discovers the cluster (see above) and, unsharded, finds the leader.
  // An error is a warning: the target then works unsharded on the given
  // endpoints, following NOT_LEADER hints.
  Status Connect();
  bool sharded() const { return routing_ != nullptr; }
  ShardkvRoutingStats routing_stats() const;

  void Start(int client, OpType type, const std::string& key,
             const std::string& value, Done done) override;

 private:
  struct Call;
  Status FindLeader();
  void Issue(Call* call);
  void Send(Call* call, ReplicaPool::Replica& replica);
  void OnComplete(Call* call, const grpc::Status& status);
  // Unsharded: the retries of the pre-routing target (bounded in count).
  bool RetryUnsharded(Call* call, const grpc::Status& status);
  // Sharded: true when the call was retried or parked for a retry.
  bool RetrySharded(Call* call, const grpc::Status& status);
  void Park(Call* call, client::Clock::time_point when, bool refresh_first);
  void Finish(Call* call, const grpc::Status& status);

  const ShardkvTargetOptions options_;
  // The given endpoints: the one replica set when unsharded.
  std::shared_ptr<client::EndpointSet> unsharded_;
  // Per closed-loop client; only touched by that client's (sequential) ops.
  std::vector<client::Session> sessions_;

  // Sharded only (set by Connect before any Start).
  std::unique_ptr<client::RoutingClient> routing_;
  client::ShardEndpoints shards_;
  std::atomic<uint64_t> wrong_shard_{0};
  std::atomic<uint64_t> slot_migrating_{0};
  std::atomic<uint64_t> not_leader_{0};
  std::atomic<uint64_t> unreachable_{0};

  // Destroyed first: the scheduler answers the calls still parked, then
  // the pool waits for the batched calls in flight; both touch the above.
  ReplicaPool replicas_;
  std::unique_ptr<RetryScheduler> scheduler_;
};

}  // namespace shardkv::bench
