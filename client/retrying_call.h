// Runs one unary RPC against a shard's replicas until it succeeds, fails
// with an error retrying cannot fix, or the caller's deadline passes:
// - NOT_LEADER with a leader address: go there at once (the hint is
//   remembered as the leader for later calls);
// - UNAVAILABLE (unreachable, NO_QUORUM, no leader known) or a per-attempt
//   timeout: try the next replica; back off once every replica was tried;
// - RESOURCE_EXHAUSTED, MEMBERSHIP_CHANGE_IN_PROGRESS or SLOT_MIGRATING:
//   back off, same replica;
// - anything else is the answer.
// A RetryScope lets the routing client take back the decisions that need
// the slot map (SLOT_MIGRATING, a shard entirely unreachable).
// Backoff is exponential with jitter and never sleeps past the deadline.
// Thread-safe (state lives on the caller's stack and in the EndpointSet).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <optional>

#include "client/endpoint_set.h"
#include "common/status.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::client {

using Clock = std::chrono::steady_clock;

struct RetryPolicy {
  // Bound on one attempt, so a hung replica does not eat the whole deadline.
  std::chrono::milliseconds attempt_timeout{2000};
  std::chrono::milliseconds initial_backoff{20};
  std::chrono::milliseconds max_backoff{1000};
};

enum class Route {
  kLeader,      // writes, linearizable reads, membership changes
  kAnyReplica,  // stale reads
};

// One try: issue the RPC on `endpoint` with `context` (deadline already set)
// and keep the response where the caller can read it.
using Attempt =
    std::function<grpc::Status(Endpoint& endpoint, grpc::ClientContext*)>;

struct CallOutcome {
  Status status;
  // True when the last attempt's error came from a replica's own decision
  // (the request certainly did or did not take effect), false when its fate
  // is unknown (timeout, connection lost). Writes use this to decide whether
  // their session's sequence number may be reused by the next write.
  bool definite = true;
  // True when some attempt's fate was unknown, even if a later one answered.
  bool any_in_doubt = false;
  // The last error's ErrorDetail, when the replica sent one.
  std::optional<v1::ErrorDetail> detail;
};

// How much CallWithRetry retries on its own before handing an error back.
struct RetryScope {
  // Hand SLOT_MIGRATING back at once instead of backing off on the same
  // replica (the routing client backs off and re-resolves the slot).
  bool return_slot_migrating = false;
  // Hand the error back after this many full rounds over the replicas
  // without an answer (0: retry until the deadline).
  int max_rounds = 0;
};

// `first` is where kAnyReplica starts (ignored for kLeader).
CallOutcome CallWithRetry(EndpointSet& endpoints, Route route, size_t first,
                          const RetryPolicy& policy, Clock::time_point deadline,
                          const Attempt& attempt,
                          const RetryScope& scope = RetryScope());

// gRPC deadlines are wall-clock; ours are monotonic. Converts at the edge.
void SetDeadline(grpc::ClientContext* context, Clock::time_point deadline);

// The backoff before retry number `retry` (0-based): uniformly random in
// [d/2, d] with d = min(max, initial * 2^retry). Exposed for tests.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry);

}  // namespace shardkv::client
