// The KV request messages, built the same way by the single-shard Client
// and by the routing client's ShardRouter.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "client/kv_client.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::client {

inline v1::GetRequest MakeGetRequest(std::string_view key,
                                     Consistency consistency) {
  v1::GetRequest request;
  request.set_key(std::string(key));
  request.set_consistency(consistency == Consistency::kStale
                              ? v1::CONSISTENCY_STALE
                              : v1::CONSISTENCY_LINEARIZABLE);
  return request;
}

inline v1::SetRequest MakeSetRequest(std::string_view key,
                                     std::string_view value,
                                     const SetOptions& options) {
  v1::SetRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_ttl_ms(options.ttl.count());
  if (options.if_absent) request.set_if_absent(true);
  if (options.if_version) request.set_if_version(*options.if_version);
  return request;
}

inline v1::DeleteRequest MakeDeleteRequest(std::string_view key,
                                           const DeleteOptions& options) {
  v1::DeleteRequest request;
  request.set_key(std::string(key));
  if (options.if_version) request.set_if_version(*options.if_version);
  return request;
}

// A tag callback for a write: stamps the session's id into `request`.
template <typename Request>
auto RequestIdTagger(Request* request) {
  return [request](uint64_t client_id, uint64_t sequence) {
    request->mutable_request_id()->set_client_id(client_id);
    request->mutable_request_id()->set_sequence(sequence);
  };
}

}  // namespace shardkv::client
