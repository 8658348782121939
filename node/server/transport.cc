#include "node/server/transport.h"

#include <chrono>
#include <deque>

#include "common/log.h"

namespace shardkv::server {
namespace {

// Large enough for a batch of entries of the largest value.
constexpr int kMaxPeerMessageBytes = 256 << 20;
// Messages queued for one peer beyond which new ones are dropped: the
// peer is too slow or gone, and Raft will retransmit.
constexpr size_t kMaxQueuedMessages = 20000;
// One write on a peer stream carries at most this much: well under the
// receiver's 16 MiB message limit (a single message is at most ~6 MiB: an
// append of ~1 MiB whose last entry may hold a 4 MiB batch plus a value).
constexpr size_t kMaxBatchBytes = 8 << 20;

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kMaxPeerMessageBytes);
  args.SetMaxReceiveMessageSize(kMaxPeerMessageBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

void ToProto(const raft::Message& m, internal::RaftMessage* out) {
  out->set_type(static_cast<uint32_t>(m.type));
  out->set_from(m.from);
  out->set_to(m.to);
  out->set_term(m.term);
  out->set_log_term(m.log_term);
  out->set_index(m.index);
  out->set_commit(m.commit);
  out->set_reject(m.reject);
  out->set_reject_hint(m.reject_hint);
  if (!m.context.empty()) out->set_context(m.context);
  out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
  for (const raft::Entry& e : m.entries) {
    internal::Entry* pe = out->add_entries();
    pe->set_term(e.term);
    pe->set_index(e.index);
    pe->set_type(static_cast<uint32_t>(e.type));
    pe->set_data(e.data);
  }
  if (m.type == raft::MessageType::kSnapshot) {
    internal::SnapshotMeta* s = out->mutable_snapshot();
    s->set_index(m.snapshot.index);
    s->set_term(m.snapshot.term);
    for (auto v : m.snapshot.conf.voters) s->mutable_conf()->add_voters(v);
    for (auto l : m.snapshot.conf.learners) s->mutable_conf()->add_learners(l);
  }
}

raft::Message FromProto(const internal::RaftMessage& m) {
  raft::Message out;
  out.type = static_cast<raft::MessageType>(m.type());
  out.from = m.from();
  out.to = m.to();
  out.term = m.term();
  out.log_term = m.log_term();
  out.index = m.index();
  out.commit = m.commit();
  out.reject = m.reject();
  out.reject_hint = m.reject_hint();
  out.context = m.context();
  out.entries.reserve(m.entries_size());
  for (const internal::Entry& pe : m.entries()) {
    out.entries.push_back(raft::Entry{pe.term(), pe.index(),
                                      static_cast<raft::EntryType>(pe.type()),
                                      pe.data()});
  }
  if (m.has_snapshot()) {
    out.snapshot.index = m.snapshot().index();
    out.snapshot.term = m.snapshot().term();
    out.snapshot.conf.voters.assign(m.snapshot().conf().voters().begin(),
                                    m.snapshot().conf().voters().end());
    out.snapshot.conf.learners.assign(m.snapshot().conf().learners().begin(),
                                      m.snapshot().conf().learners().end());
  }
  return out;
}

// One client stream to a peer. Owns itself from creation until OnDone.
class PeerStream : public grpc::ClientWriteReactor<internal::RaftBatch> {
 public:
  // on_done(stream, shut_down): the stream is gone; shut_down tells an
  // intentional Shutdown() from a failure.
  using OnDoneFn = std::function<void(PeerStream*, bool shut_down)>;
  PeerStream(internal::RaftTransport::Stub* stub, internal::RaftBatch header,
             OnDoneFn on_broken)
      : header_(std::move(header)), on_broken_(std::move(on_broken)) {
    stub->async()->Send(&context_, &ack_, this);
    AddHold();
    StartCall();
  }

  // Queues messages; returns false if the stream is broken (caller makes a
  // new one).
  bool Enqueue(std::vector<internal::RaftMessage>* messages) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dead_) return false;
      if (queue_.size() + messages->size() > kMaxQueuedMessages) return true;
      for (auto& m : *messages) queue_.push_back(std::move(m));
      if (writing_) return true;
      writing_ = true;
      TakeBatchLocked();
    }
    StartWrite(&batch_);
    return true;
  }

  void Shutdown() {
    bool release = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shut_down_ = true;
      if (!dead_) {
        dead_ = true;
        release = !writing_;
      }
    }
    context_.TryCancel();
    if (release) ReleaseHold();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ok && !dead_ && !queue_.empty()) {
        TakeBatchLocked();
      } else {
        writing_ = false;
        if (ok && !dead_) return;  // idle until the next Enqueue
        dead_ = true;
        queue_.clear();
      }
    }
    if (!ok || dead_) {
      ReleaseHold();
      return;
    }
    StartWrite(&batch_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      SHARDKV_LOG(kDebug) << "peer stream ended: " << status.error_message();
    }
    bool shut_down;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shut_down = shut_down_;
    }
    on_broken_(this, shut_down);
    delete this;
  }

 private:
  // Moves queued messages into batch_, up to kMaxBatchBytes (at least
  // one); the rest waits for the next write.
  void TakeBatchLocked() {
    batch_ = header_;
    size_t bytes = 0;
    while (!queue_.empty()) {
      size_t size = queue_.front().ByteSizeLong();
      if (batch_.messages_size() > 0 && bytes + size > kMaxBatchBytes) break;
      bytes += size;
      *batch_.add_messages() = std::move(queue_.front());
      queue_.pop_front();
    }
  }
  void ReleaseHold() {
    if (!hold_released_.exchange(true)) RemoveHold();
  }

  grpc::ClientContext context_;
  internal::RaftBatchAck ack_;
  const internal::RaftBatch header_;
  OnDoneFn on_broken_;
  internal::RaftBatch batch_;  // the write in flight
  std::mutex mu_;
  std::deque<internal::RaftMessage> queue_;  // GUARDED_BY(mu_)
  bool writing_ = false;                     // GUARDED_BY(mu_)
  bool dead_ = false;                        // GUARDED_BY(mu_)
  bool shut_down_ = false;                   // GUARDED_BY(mu_)
  std::atomic<bool> hold_released_{false};
};

struct Transport::Peer {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<internal::RaftTransport::Stub> stub;
  PeerStream* stream = nullptr;  // owned by itself; cleared in on_broken
};

Transport::Transport(raft::NodeId self, std::string self_address,
                     std::string cluster_id)
    : self_(self),
      self_address_(std::move(self_address)),
      cluster_id_(std::move(cluster_id)) {
  snapshot_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "snapshot-send");
    SnapshotLoop();
  });
}

Transport::~Transport() { Stop(); }

void Transport::SetHandlers(
    std::function<void(raft::NodeId)> on_unreachable,
    std::function<void(raft::NodeId, bool)> on_snapshot_done,
    SnapshotProvider* snapshots) {
  std::lock_guard<std::mutex> lock(mu_);
  on_unreachable_ = std::move(on_unreachable);
  on_snapshot_done_ = std::move(on_snapshot_done);
  snapshots_ = snapshots;
}

void Transport::SetAddress(raft::NodeId id, const std::string& address) {
  if (id == self_ || address.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto& peer = peers_[id];
  if (peer && peer->address == address) return;
  if (peer && peer->stream) peer->stream->Shutdown();
  peer = std::make_unique<Peer>();
  peer->address = address;
  peer->channel = MakeChannel(address);
  peer->stub = internal::RaftTransport::NewStub(peer->channel);
  SHARDKV_LOG(kInfo) << "peer " << id << " at " << address;
}

void Transport::RemovePeer(raft::NodeId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  if (it->second->stream) it->second->stream->Shutdown();
  peers_.erase(it);
}

std::string Transport::AddressOf(raft::NodeId id) const {
  if (id == self_) return self_address_;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? "" : it->second->address;
}

Transport::Peer* Transport::PeerLocked(raft::NodeId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.get();
}

void Transport::Send(std::vector<raft::Message> messages) {
  std::map<raft::NodeId, std::vector<internal::RaftMessage>> by_peer;
  std::vector<raft::NodeId> unreachable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    for (raft::Message& m : messages) {
      if (m.type == raft::MessageType::kSnapshot) {
        if (!snapshot_busy_[m.to]) {
          snapshot_busy_[m.to] = true;
          snapshot_jobs_.push_back({m.to, std::move(m)});
          snapshot_cv_.notify_one();
        }
        continue;
      }
      ToProto(m, &by_peer[m.to].emplace_back());
    }
  }
  for (auto& [to, batch] : by_peer) {
    // The stream pointer is only used under mu_; PeerStream::Enqueue takes
    // its own lock and never calls back into the transport synchronously.
    std::unique_lock<std::mutex> lock(mu_);
    // Stop() may have run since the check above: a stream opened now would
    // never be shut down, and Stop() waits for every stream.
    if (stopping_) return;
    Peer* peer = PeerLocked(to);
    if (peer == nullptr) {
      unreachable.push_back(to);
      continue;
    }
    if (peer->stream == nullptr) {
      internal::RaftBatch header;
      header.set_cluster_id(cluster_id_);
      header.set_from_id(self_);
      header.set_from_address(self_address_);
      ++live_streams_;
      peer->stream =
          new PeerStream(peer->stub.get(), header,
                         [this, id = to](PeerStream* stream, bool shut_down) {
                           StreamDone(id, stream, shut_down);
                         });
    }
    if (!peer->stream->Enqueue(&batch)) unreachable.push_back(to);
  }
  if (!unreachable.empty() && on_unreachable_) {
    for (raft::NodeId id : unreachable) on_unreachable_(id);
  }
}

void Transport::StreamDone(raft::NodeId id, PeerStream* stream,
                           bool shut_down) {
  bool report = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = peers_.find(id);
    if (it != peers_.end() && it->second->stream == stream) {
      it->second->stream = nullptr;
    }
    report = !shut_down && !stopping_;
    --live_streams_;
  }
  streams_cv_.notify_all();
  // A failed stream lost what it had queued: let the core probe again.
  if (report && on_unreachable_) on_unreachable_(id);
}

void Transport::SnapshotLoop() {
  for (;;) {
    SnapshotJob job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      snapshot_cv_.wait(lock,
                        [&] { return stopping_ || !snapshot_jobs_.empty(); });
      if (stopping_) return;
      job = std::move(snapshot_jobs_.front());
      snapshot_jobs_.pop_front();
    }
    bool ok = StreamSnapshot(job);
    std::function<void(raft::NodeId, bool)> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot_busy_[job.to] = false;
      done = on_snapshot_done_;
    }
    if (done) done(job.to, ok);
  }
}

bool Transport::StreamSnapshot(const SnapshotJob& job) {
  std::shared_ptr<grpc::Channel> channel;
  SnapshotProvider* provider = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Peer* peer = PeerLocked(job.to);
    if (peer == nullptr || snapshots_ == nullptr) return false;
    channel = peer->channel;
    provider = snapshots_;
  }
  auto stub = internal::RaftTransport::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::minutes(30));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    snapshot_context_ = &context;  // Stop() cancels it
  }
  internal::SnapshotAck ack;
  auto writer = stub->InstallSnapshot(&context, &ack);
  auto started = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  bool wrote = provider->WriteSnapshot(
      job.message, [&](const internal::SnapshotChunk& chunk) {
        internal::SnapshotChunk c = chunk;
        c.set_cluster_id(cluster_id_);
        bytes += c.ByteSizeLong();
        return writer->Write(c);
      });
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_context_ = nullptr;
  }
  auto secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  bool ok = wrote && status.ok() && ack.installed();
  SHARDKV_LOG(kInfo) << "snapshot to " << job.to << ": "
                     << (ok ? "installed" : "failed") << ", " << bytes
                     << " bytes in " << secs << "s"
                     << (status.ok() ? ""
                                     : " (" + status.error_message() + ")");
  return ok;
}

void Transport::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, peer] : peers_) {
      if (peer->stream) peer->stream->Shutdown();
    }
    if (snapshot_context_ != nullptr) snapshot_context_->TryCancel();
  }
  snapshot_cv_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  // Cancelled streams finish on gRPC threads; their OnDone touches this
  // object, so wait for every one of them.
  std::unique_lock<std::mutex> lock(mu_);
  while (!streams_cv_.wait_for(lock, std::chrono::seconds(5),
                               [&] { return live_streams_ == 0; })) {
    SHARDKV_LOG(kWarning) << "waiting for " << live_streams_
                          << " peer stream(s) to close";
  }
}

}  // namespace shardkv::server
