// Target (target.h) for a shardkv shard through gRPC's callback API: no
// thread per client; completions run on gRPC's small internal pool, so 64
// closed-loop clients cost about one core less than the sync API would.
// Writes carry a RequestId (one session per closed-loop client); NOT_LEADER
// hints and unreachable replicas are retried a few times with the same
// request id, then reported as errors.
//
// With batch_in_flight > 0 the requests of all closed-loop clients to one
// replica travel in KV.Batch calls (kv_batcher.h), at most that many calls
// in flight per replica; each request keeps its own outcome and retries.
//
// Thread-safe per target.h's contract.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/bench/kv_batcher.h"
#include "client/bench/target.h"
#include "client/endpoint_set.h"
#include "client/session_pool.h"

namespace shardkv::bench {

struct ShardkvTargetOptions {
  std::vector<std::string> endpoints;
  int clients = 64;
  bool stale_reads = false;  // spread round-robin over all replicas
  std::chrono::milliseconds timeout{5000};
  // 0: one call per request. N > 0: KV.Batch, N calls in flight per
  // replica, at most batch_max_items requests each.
  int batch_in_flight = 0;
  int batch_max_items = 256;
};

class ShardkvTarget : public Target {
 public:
  explicit ShardkvTarget(const ShardkvTargetOptions& options);
  ~ShardkvTarget() override;

  // Points the target at the current leader (Admin.Status on each replica).
  Status FindLeader();

  void Start(int client, OpType type, const std::string& key,
             const std::string& value, Done done) override;

 private:
  struct Call;
  void Issue(Call* call);
  void OnComplete(Call* call, const grpc::Status& status);
  void IssueBatched(Call* call);

  const ShardkvTargetOptions options_;
  client::EndpointSet endpoints_;
  // Per closed-loop client; only touched by that client's (sequential) ops.
  std::vector<client::Session> sessions_;
  std::atomic<size_t> round_robin_{0};
  // One per replica when batching; last: destroyed first, while the
  // endpoints their calls use still exist.
  std::vector<std::unique_ptr<KvBatcher>> batchers_;
};

}  // namespace shardkv::bench
