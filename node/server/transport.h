// Transport: delivers Raft messages to the other replicas of the group.
//
// One long-lived client stream per peer (RaftTransport.Send), written by a
// gRPC callback reactor: Send() never blocks. Messages queued while a write
// is in flight go out together in the next batch (batching comes for free
// under load). A broken stream drops its queue (Raft retransmits); the next
// Send to that peer finds it broken, opens a new stream and tells the
// unreachable handler, so the core falls back to probing. A peer with more
// than 20,000 queued messages has new ones dropped (Raft retransmits).
//
// Snapshots go through a separate, single owned thread ("snapshot-sender"):
// at most one is streamed at a time.
//
// Thread-safety: thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/raft/types.h"
#include "shardkv/internal/raft.grpc.pb.h"

namespace shardkv::server {

class PeerStream;

// Produces the snapshot stream for a kSnapshot message: fills the header
// (the message to step on the receiver, with the image's meta) and then
// chunks. Runs on the snapshot-sender thread.
class SnapshotProvider {
 public:
  virtual ~SnapshotProvider() = default;
  // Returns false when no image can be produced now.
  virtual bool WriteSnapshot(
      raft::Message message,
      const std::function<bool(const internal::SnapshotChunk&)>& write) = 0;
};

class Transport {
 public:
  Transport(raft::NodeId self, std::string self_address,
            std::string cluster_id);
  ~Transport();

  // Called by the raft loop when a peer is unreachable or a snapshot
  // transfer ends. Set before the first Send.
  void SetHandlers(std::function<void(raft::NodeId)> on_unreachable,
                   std::function<void(raft::NodeId, bool)> on_snapshot_done,
                   SnapshotProvider* snapshots);

  // Learns or changes a peer's address (membership, or a batch received).
  void SetAddress(raft::NodeId id, const std::string& address);
  void RemovePeer(raft::NodeId id);
  std::string AddressOf(raft::NodeId id) const;

  // Queues messages; kSnapshot messages go to the snapshot sender.
  void Send(std::vector<raft::Message> messages);

  void Stop();

 private:
  struct Peer;
  struct SnapshotJob {
    raft::NodeId to;
    raft::Message message;
  };
  Peer* PeerLocked(raft::NodeId id);
  void StreamDone(raft::NodeId id, PeerStream* stream, bool shut_down);
  void SnapshotLoop();
  bool StreamSnapshot(const SnapshotJob& job);

  const raft::NodeId self_;
  const std::string self_address_;
  const std::string cluster_id_;
  std::function<void(raft::NodeId)> on_unreachable_;
  std::function<void(raft::NodeId, bool)> on_snapshot_done_;
  SnapshotProvider* snapshots_ = nullptr;

  mutable std::mutex mu_;
  std::map<raft::NodeId, std::unique_ptr<Peer>> peers_;  // GUARDED_BY(mu_)
  std::deque<SnapshotJob> snapshot_jobs_;                // GUARDED_BY(mu_)
  std::map<raft::NodeId, bool> snapshot_busy_;           // GUARDED_BY(mu_)
  bool stopping_ = false;                                // GUARDED_BY(mu_)
  int live_streams_ = 0;                                 // GUARDED_BY(mu_)
  grpc::ClientContext* snapshot_context_ = nullptr;      // GUARDED_BY(mu_)
  std::condition_variable streams_cv_;
  std::condition_variable snapshot_cv_;
  std::thread snapshot_thread_;
};

// Conversions between the core's structs and the wire format.
void ToProto(const raft::Message& m, internal::RaftMessage* out);
raft::Message FromProto(const internal::RaftMessage& m);

}  // namespace shardkv::server
