// shardkv::client::AdminClient — administration of one shard's Raft group
// (kv.proto service Admin). Status() asks one given replica; membership
// changes and leadership transfer go to the leader, following NOT_LEADER
// hints and retrying unreachable replicas like Client (retrying_call.h).
// A membership change is not blindly idempotent: when a retried AddLearner
// finds the member already present, the server's error is returned as is.
//
// Thread-safe; calls block the calling thread (gRPC sync API).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/endpoint_set.h"
#include "client/retrying_call.h"
#include "common/status.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::client {

struct AdminOptions {
  std::vector<std::string> endpoints;  // at least one
  std::chrono::milliseconds timeout{5000};
  RetryPolicy retry;
};

class AdminClient {
 public:
  static StatusOr<std::unique_ptr<AdminClient>> Create(AdminOptions options);

  // The replica at `endpoint` (any address, configured or not); no retry on
  // another replica, one attempt bounded by the timeout.
  StatusOr<v1::StatusResponse> Status(const std::string& endpoint);

  StatusOr<v1::MembershipResponse> AddLearner(uint64_t id,
                                              const std::string& address);
  StatusOr<v1::MembershipResponse> Promote(uint64_t id);
  StatusOr<v1::MembershipResponse> RemoveMember(uint64_t id);
  // id 0 lets the leader pick the most caught-up voter.
  StatusOr<v1::TransferLeaderResponse> TransferLeader(uint64_t id);

  const std::vector<std::string>& endpoints() const {
    return options_.endpoints;
  }

 private:
  explicit AdminClient(AdminOptions options);
  // Runs `attempt` on the leader with retries.
  shardkv::Status OnLeader(const Attempt& attempt);

  const AdminOptions options_;
  EndpointSet endpoints_;
};

}  // namespace shardkv::client
