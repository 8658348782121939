// Runs one unary RPC against a shard's replicas until it succeeds, fails
// with an error retrying cannot fix, or the caller's deadline passes:
// - NOT_LEADER with a leader address: go there at once (the hint is
//   remembered as the leader for later calls);
// - UNAVAILABLE (unreachable, NO_QUORUM, no leader known) or a per-attempt
//   timeout: try the next replica; back off once every replica was tried;
// - RESOURCE_EXHAUSTED or MEMBERSHIP_CHANGE_IN_PROGRESS: back off, same
//   replica;
// - anything else is the answer.
// Backoff is exponential with jitter and never sleeps past the deadline.
// Thread-safe (state lives on the caller's stack and in the EndpointSet).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>

#include "client/endpoint_set.h"
#include "common/status.h"

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
};

// `first` is where kAnyReplica starts (ignored for kLeader).
CallOutcome CallWithRetry(EndpointSet& endpoints, Route route, size_t first,
                          const RetryPolicy& policy, Clock::time_point deadline,
                          const Attempt& attempt);

// gRPC deadlines are wall-clock; ours are monotonic. Converts at the edge.
void SetDeadline(grpc::ClientContext* context, Clock::time_point deadline);

// The backoff before retry number `retry` (0-based): uniformly random in
// [d/2, d] with d = min(max, initial * 2^retry). Exposed for tests.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry);

}  // namespace shardkv::client
