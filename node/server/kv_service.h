// KvService: the public shardkv.v1.KV service on the gRPC callback API.
// Validates requests (limits give INVALID_ARGUMENT with the limit and the
// actual size) and hands them to the Replica; never blocks a gRPC thread.
// Keys of slots this shard does not serve get FAILED_PRECONDITION +
// WRONG_SHARD (with the shard's epoch) or UNAVAILABLE + SLOT_MIGRATING:
// checked before proposing (fail fast) and, authoritatively, when the
// write is applied or, for a read, together with the read.
//
// Thread-safety: thread-safe (stateless besides the replica).
#pragma once

#include "node/server/replica.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::server {

class KvService final : public v1::KV::CallbackService {
 public:
  explicit KvService(Replica* replica) : replica_(replica) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                const v1::SetRequest* request,
                                v1::SetResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;

 private:
  // OK, or the INVALID_ARGUMENT to answer with.
  grpc::Status ValidateKey(const std::string& key) const;
  grpc::Status NotLeader() const;

  Replica* const replica_;
};

}  // namespace shardkv::server
