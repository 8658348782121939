// RaftService: the receiving end of the peer protocol. Send is a
// client-streaming callback method (batches are handed to the replica's
// inbox, never blocking); InstallSnapshot is synchronous, since it writes
// the image to disk as it arrives.
#pragma once

#include <atomic>

#include "node/server/replica.h"
#include "shardkv/internal/raft.grpc.pb.h"

namespace shardkv::server {

class RaftService final
    : public internal::RaftTransport::WithCallbackMethod_Send<
          internal::RaftTransport::Service> {
 public:
  explicit RaftService(Replica* replica) : replica_(replica) {}

  grpc::ServerReadReactor<internal::RaftBatch>* Send(
      grpc::CallbackServerContext* context,
      internal::RaftBatchAck* response) override;
  grpc::Status InstallSnapshot(
      grpc::ServerContext* context,
      grpc::ServerReader<internal::SnapshotChunk>* reader,
      internal::SnapshotAck* response) override;

 private:
  Replica* const replica_;
  std::atomic<bool> installing_{false};
};

}  // namespace shardkv::server
