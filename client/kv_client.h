// shardkv::client::Client — the C++ client of one shard (Raft group).
//
//   ClientOptions opts;
//   opts.endpoints = {"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"};
//   auto client = Client::Create(opts);           // StatusOr<unique_ptr>
//   auto set = (*client)->Set("k", "v");          // StatusOr<SetResult>
//   auto get = (*client)->Get("k");               // StatusOr<GetResult>
//
// Errors (Status codes):
//   kNotFound            Get of a missing (or expired) key. We chose a
//                        status over a found flag so `if (!r.ok())` covers
//                        every "no value" case.
//   kFailedPrecondition  a Set/Delete condition failed; the key's current
//                        version is ConditionFailedVersion(status).
//   kInvalidArgument     the server rejected the request; its message.
//   kUnavailable / kDeadlineExceeded  no replica answered usefully before
//                        the deadline (the message names the last error).
// The client follows NOT_LEADER hints itself, retries unreachable replicas
// and transient errors within the deadline (see retrying_call.h), and tags
// writes with a RequestId so a retried write is applied at most once.
//
// Thread-safe: one Client may be shared by any number of threads; each
// concurrent write uses its own session (session_pool.h). Calls block the
// calling thread (gRPC sync API).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/endpoint_set.h"
#include "client/error_detail.h"
#include "client/retrying_call.h"
#include "client/session_pool.h"
#include "common/status.h"

namespace shardkv::client {

struct ClientOptions {
  // host:port of the shard's replicas; at least one.
  std::vector<std::string> endpoints;
  // Default deadline of a call, retries included.
  std::chrono::milliseconds timeout{5000};
  RetryPolicy retry;
  // Stale reads start at the first endpoint (the "local" replica) unless
  // this spreads them round-robin over all replicas.
  bool spread_stale_reads = false;
};

enum class Consistency { kLinearizable, kStale };

struct GetResult {
  std::string value;
  uint64_t version = 0;
  std::chrono::milliseconds ttl{0};  // remaining; 0 = never expires
};

struct SetOptions {
  std::chrono::milliseconds ttl{0};  // 0 = never expires
  bool if_absent = false;            // exclusive with if_version
  std::optional<uint64_t> if_version;
  std::optional<std::chrono::milliseconds> timeout;  // else the default
};

struct SetResult {
  uint64_t version = 0;  // the key's version after the write
};

struct DeleteOptions {
  std::optional<uint64_t> if_version;
  std::optional<std::chrono::milliseconds> timeout;
};

struct DeleteResult {
  bool deleted = false;  // false: the key did not exist
};

class Client {
 public:
  // Fails with kInvalidArgument when no endpoint is given.
  static StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  StatusOr<GetResult> Get(
      std::string_view key,
      Consistency consistency = Consistency::kLinearizable,
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  StatusOr<SetResult> Set(std::string_view key, std::string_view value,
                          const SetOptions& options = {});
  StatusOr<DeleteResult> Delete(std::string_view key,
                                const DeleteOptions& options = {});

  // The address currently believed to lead (for diagnostics).
  std::string leader_address();
  const ClientOptions& options() const { return options_; }

 private:
  explicit Client(ClientOptions options);
  Clock::time_point DeadlineFor(
      std::optional<std::chrono::milliseconds> timeout) const;
  // Runs a write with a session's next sequence stored by `tag` into the
  // request; returns the session to the pool if the outcome is known.
  Status RunWrite(std::optional<std::chrono::milliseconds> timeout,
                  const std::function<void(uint64_t, uint64_t)>& tag,
                  const Attempt& attempt);

  const ClientOptions options_;
  EndpointSet endpoints_;
  SessionPool sessions_;
};

}  // namespace shardkv::client
