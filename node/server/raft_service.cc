#include "node/server/raft_service.h"

#include "common/log.h"
#include "node/server/errors.h"

namespace shardkv::server {
namespace {

class BatchReader : public grpc::ServerReadReactor<internal::RaftBatch> {
 public:
  explicit BatchReader(Replica* replica) : replica_(replica) {
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    if (batch_.cluster_id() != replica_->config().cluster_id) {
      Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "peer belongs to cluster '" + batch_.cluster_id() +
                              "', this node to '" +
                              replica_->config().cluster_id + "'"));
      return;
    }
    std::vector<raft::Message> messages;
    messages.reserve(batch_.messages_size());
    for (const auto& m : batch_.messages()) messages.push_back(FromProto(m));
    replica_->Receive(std::move(messages), batch_.from_id(),
                      batch_.from_address());
    batch_.Clear();
    StartRead(&batch_);
  }

  void OnDone() override { delete this; }

 private:
  Replica* const replica_;
  internal::RaftBatch batch_;
};

}  // namespace

grpc::ServerReadReactor<internal::RaftBatch>* RaftService::Send(
    grpc::CallbackServerContext*, internal::RaftBatchAck*) {
  return new BatchReader(replica_);
}

grpc::Status RaftService::InstallSnapshot(
    grpc::ServerContext*, grpc::ServerReader<internal::SnapshotChunk>* reader,
    internal::SnapshotAck* response) {
  internal::SnapshotChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_message()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "snapshot stream must start with its message");
  }
  if (chunk.cluster_id() != replica_->config().cluster_id) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "snapshot from another cluster");
  }
  raft::Message message = FromProto(chunk.message());
  if (message.type != raft::MessageType::kSnapshot ||
      message.to != replica_->config().id) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "snapshot stream must start with a snapshot message "
                        "addressed to this replica");
  }
  // One install at a time: each stages its image in the same place.
  if (installing_.exchange(true)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "another snapshot is being installed");
  }
  struct Release {
    std::atomic<bool>* flag;
    ~Release() { *flag = false; }
  } release{&installing_};
  SHARDKV_LOG(kInfo) << "receiving snapshot at index " << message.snapshot.index
                     << " from " << message.from;
  std::unique_ptr<storage::SnapshotSink> sink =
      replica_->BeginSnapshotInstall();
  bool done = false;
  while (reader->Read(&chunk)) {
    if (chunk.done()) {
      done = true;
      break;
    }
    Status s = sink->Add(chunk);
    if (!s.ok()) return ToGrpc(s);
  }
  if (!done) {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        "snapshot stream ended early");
  }
  Status s = replica_->FinishSnapshotInstall(std::move(sink), message);
  response->set_installed(s.ok());
  if (!s.ok())
    SHARDKV_LOG(kWarning) << "snapshot not installed: " << s.ToString();
  return grpc::Status::OK;
}

}  // namespace shardkv::server
