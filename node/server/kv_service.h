// KvService: the public shardkv.v1.KV service on the gRPC callback API.
// Validates requests (limits give INVALID_ARGUMENT with the limit and the
// actual size) and hands them to the Replica; never blocks a gRPC thread.
// Keys of slots this shard does not serve get FAILED_PRECONDITION +
// WRONG_SHARD (with the shard's epoch) or UNAVAILABLE + SLOT_MIGRATING:
// checked before proposing (fail fast) and, authoritatively, when the
// write is applied or, for a read, together with the read.
//
// Batch (kv_batch.cc) handles each item exactly as the single call of its
// kind, with one ReadIndex gate for all of its linearizable reads and one
// hand-over of all of its writes to the raft loop.
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
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* context,
                                  const v1::BatchRequest* request,
                                  v1::BatchResponse* response) override;

  // Items beyond this many fail the whole Batch call (INVALID_ARGUMENT).
  static constexpr int kMaxBatchItems = 1024;

 private:
  // OK, or the INVALID_ARGUMENT to answer with.
  grpc::Status ValidateKey(const std::string& key) const;
  grpc::Status NotLeader() const;
  // A request the leader must not take: NOT_LEADER, or the key's slot is
  // not served here (fail fast; the check that counts comes later).
  grpc::Status CheckLeaderAndSlot(const std::string& key) const;
  // Validates a linearizable or stale Get before it waits or reads.
  grpc::Status CheckGet(const v1::GetRequest& request) const;
  // Reads the state machine now (after the ReadIndex for linearizable).
  grpc::Status ReadNow(const v1::GetRequest& request,
                       v1::GetResponse* response) const;
  // Validate a write and build its command (OK) or say why not.
  grpc::Status PrepareSet(const v1::SetRequest& request,
                          internal::Command* command) const;
  grpc::Status PrepareDelete(const v1::DeleteRequest& request,
                             internal::Command* command) const;
  // The gRPC status of a write's outcome.
  grpc::Status WriteStatus(const Status& status,
                           const storage::ApplyResult& result) const;

  Replica* const replica_;
};

}  // namespace shardkv::server
