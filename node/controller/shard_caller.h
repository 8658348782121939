// ShardCaller: the migration driver's calls to a shard's ShardControl
// service, at the shard's leader. Keeps one channel per address and the
// last leader seen per shard; follows NOT_LEADER hints that name one of
// the shard's members (from the map), else tries the next member; retries
// UNAVAILABLE / DEADLINE_EXCEEDED with backoff until the call's deadline.
// Every other error is returned at once (the steps are idempotent, so the
// caller may retry the step later).
//
// Thread-safety: thread-safe; calls block the calling (driver) thread for
// at most their deadline, or until `stop` becomes true.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "shardkv/internal/shard_control.grpc.pb.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::controller {

using ShardStub = internal::ShardControl::Stub;

class ShardCaller {
 public:
  // One attempt at one replica; returns its gRPC status.
  using Attempt = std::function<grpc::Status(ShardStub*, grpc::ClientContext*)>;

  struct Options {
    std::chrono::milliseconds attempt_timeout{3000};
    std::chrono::milliseconds call_timeout{10000};
  };

  explicit ShardCaller(const std::atomic<bool>* stop) : ShardCaller(stop, {}) {}
  ShardCaller(const std::atomic<bool>* stop, Options options)
      : stop_(stop), options_(options) {}

  // Runs `attempt` at the shard's leader until it succeeds, fails with a
  // non-retryable error, or the call times out. `attempt_timeout` overrides
  // the per-attempt deadline (streams of a whole copy round need longer).
  Status Call(const v1::Shard& shard, const std::string& what,
              const Attempt& attempt,
              std::chrono::milliseconds attempt_timeout = {});

  // Convenience for the unary steps answering SlotStateResponse.
  template <typename Request>
  StatusOr<internal::SlotStateResponse> Unary(
      const v1::Shard& shard, const std::string& what,
      grpc::Status (ShardStub::*method)(grpc::ClientContext*, const Request&,
                                        internal::SlotStateResponse*),
      const Request& request, std::chrono::milliseconds attempt_timeout = {}) {
    internal::SlotStateResponse response;
    Status s = Call(
        shard, what,
        [&](ShardStub* stub, grpc::ClientContext* context) {
          response.Clear();
          return (stub->*method)(context, request, &response);
        },
        attempt_timeout);
    if (!s.ok()) return s;
    return response;
  }

 private:
  ShardStub* StubFor(const std::string& address);
  std::string LeaderGuess(const v1::Shard& shard);
  void RememberLeader(uint32_t shard_id, const std::string& address);

  const std::atomic<bool>* const stop_;
  const Options options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // mu_
  std::map<std::string, std::unique_ptr<ShardStub>> stubs_;         // mu_
  std::map<uint32_t, std::string> leaders_;                         // mu_
};

}  // namespace shardkv::controller
