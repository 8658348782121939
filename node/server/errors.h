// Building gRPC statuses with a machine-readable shardkv.v1.ErrorDetail in
// the binary details. The one place where our Status becomes a gRPC one.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "common/status.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::server {

grpc::Status ToGrpc(const Status& status);
grpc::Status ToGrpc(const Status& status, const v1::ErrorDetail& detail);

// "not the leader; leader is 2 at host:port" (or that none is known).
std::string NotLeaderMessage(uint64_t leader_id,
                             const std::string& leader_address);
grpc::Status NotLeader(uint64_t leader_id, const std::string& leader_address);
grpc::Status InvalidArgumentWithLimit(v1::ErrorReason reason,
                                      const std::string& message,
                                      uint64_t limit, uint64_t actual);

}  // namespace shardkv::server
