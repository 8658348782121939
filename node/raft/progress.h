// Per-follower replication state at the leader (flow control, thesis §10.2)
// and the membership-aware tracker that computes quorums over voters.
//
// A follower's progress is in one of three states:
//   kProbe:     we do not know its match; send one kAppend per heartbeat
//               round (or per response) and back off on rejections;
//   kReplicate: optimistic pipelining: next advances as soon as a kAppend
//               is sent, bounded by the inflight window;
//   kSnapshot:  a snapshot is being streamed; nothing else is sent until
//               ReportSnapshot or a response covering the snapshot.
// Invariant: match < next.
//
// Thread-safety: not thread-safe; owned by Raft.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "node/raft/raw_node.h"
#include "node/raft/types.h"

namespace shardkv::raft {

// Sliding window of the last indexes of kAppend messages in flight.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  bool Full() const { return window_.size() >= capacity_; }
  size_t Count() const { return window_.size(); }
  void Add(Index last) { window_.push_back(last); }
  // Frees every message whose last index is <= index (acknowledged).
  void FreeLE(Index index);
  void FreeFirstOne();
  void Reset() { window_.clear(); }

 private:
  size_t capacity_;
  std::deque<Index> window_;
};

struct PeerProgress {
  using State = Progress::State;

  explicit PeerProgress(size_t max_inflight) : inflights(max_inflight) {}

  Index match = 0;
  Index next = 1;
  State state = State::kProbe;
  // kProbe: one probe is outstanding; wait for a response or heartbeat.
  bool probe_sent = false;
  // kSnapshot: the index of the snapshot being sent.
  Index pending_snapshot = 0;
  // Heard from since the last CheckQuorum round.
  bool recent_active = false;
  bool learner = false;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);
  // An acknowledgement of `index`; false if stale.
  bool MaybeUpdate(Index index);
  // A rejection of the kAppend whose prev index was `rejected`, with the
  // follower's hint; false if stale.
  bool MaybeDecrTo(Index rejected, Index hint);
  // Bookkeeping after sending a kAppend whose last entry is `last`.
  void SentEntries(Index last, size_t count);
  bool IsPaused() const;
  Progress ToPublic() const;
};

enum class VoteResult { kPending, kWon, kLost };

class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight) : max_inflight_(max_inflight) {}

  // Replaces the membership (progress starts from next = last_index + 1).
  void Reset(const ConfState& conf, Index last_index);
  // Keeps the membership, resets every follower's replication state.
  void ResetProgress(Index last_index, NodeId self);
  ConfState Conf() const;

  PeerProgress* Get(NodeId id);
  const PeerProgress* Get(NodeId id) const;
  std::map<NodeId, PeerProgress>& all() { return progress_; }
  const std::map<NodeId, PeerProgress>& all() const { return progress_; }
  bool IsVoter(NodeId id) const;
  size_t VoterCount() const;
  size_t Quorum() const { return VoterCount() / 2 + 1; }

  void AddLearner(NodeId id, Index last_index);
  void Promote(NodeId id, Index last_index);
  void Remove(NodeId id) { progress_.erase(id); }

  // Largest index replicated on a quorum of voters.
  Index QuorumMatch() const;
  // Whether a quorum of voters (counting `self`) was recently active.
  bool QuorumActive(NodeId self) const;
  // Whether the voters in `acks` form a quorum.
  bool HasQuorum(const std::vector<NodeId>& acks) const;

  void RecordVote(NodeId id, bool granted) { votes_.emplace(id, granted); }
  void ResetVotes() { votes_.clear(); }
  VoteResult TallyVotes() const;

 private:
  size_t max_inflight_;
  std::map<NodeId, PeerProgress> progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace shardkv::raft
