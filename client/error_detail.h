// Reading the machine-readable shardkv.v1.ErrorDetail that every non-OK
// response of a shardkv server carries (see kv.proto's top comment), and
// turning a grpc::Status into our Status. Stateless; thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <optional>

#include "common/status.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::client {

// The detail in `status`' binary details, or nullopt when absent/corrupt
// (e.g. a transport error produced by gRPC itself).
std::optional<v1::ErrorDetail> DecodeErrorDetail(const grpc::Status& status);

// Same code and message. For CONDITION_FAILED the message ends with
// "(current version N)" so ConditionFailedVersion() can recover N.
Status FromGrpc(const grpc::Status& status);

// For a kFailedPrecondition Status produced by FromGrpc() on a failed
// if-absent / if-version condition: the key's current version (0 = absent).
std::optional<uint64_t> ConditionFailedVersion(const Status& status);

}  // namespace shardkv::client
