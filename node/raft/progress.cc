#include "node/raft/progress.h"

#include <algorithm>
#include <functional>

namespace shardkv::raft {

void Inflights::FreeLE(Index index) {
  while (!window_.empty() && window_.front() <= index) window_.pop_front();
}

void Inflights::FreeFirstOne() {
  if (!window_.empty()) window_.pop_front();
}

void PeerProgress::BecomeProbe() {
  // After a snapshot, resume right after it.
  if (state == State::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = State::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void PeerProgress::BecomeReplicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void PeerProgress::BecomeSnapshot(Index snapshot_index) {
  state = State::kSnapshot;
  probe_sent = false;
  pending_snapshot = snapshot_index;
  next = snapshot_index + 1;
  inflights.Reset();
}

bool PeerProgress::MaybeUpdate(Index index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool PeerProgress::MaybeDecrTo(Index rejected, Index hint) {
  if (state == State::kReplicate) {
    // Rejections of messages sent before the follower caught up are stale.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probing: only the response to the probe in flight counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void PeerProgress::SentEntries(Index last, size_t count) {
  if (state == State::kReplicate) {
    if (count > 0) {
      next = last + 1;
      inflights.Add(last);
    }
    return;
  }
  if (state == State::kProbe) probe_sent = true;
}

bool PeerProgress::IsPaused() const {
  switch (state) {
    case State::kProbe:
      return probe_sent;
    case State::kReplicate:
      return inflights.Full();
    case State::kSnapshot:
      return true;
  }
  return true;
}

Progress PeerProgress::ToPublic() const {
  Progress p;
  p.match = match;
  p.next = next;
  p.state = state;
  p.learner = learner;
  p.recent_active = recent_active;
  return p;
}

void ProgressTracker::Reset(const ConfState& conf, Index last_index) {
  progress_.clear();
  for (NodeId id : conf.voters) {
    auto [it, _] = progress_.emplace(id, PeerProgress(max_inflight_));
    it->second.next = last_index + 1;
  }
  for (NodeId id : conf.learners) AddLearner(id, last_index);
  votes_.clear();
}

void ProgressTracker::ResetProgress(Index last_index, NodeId self) {
  for (auto& [id, pr] : progress_) {
    bool learner = pr.learner;
    pr = PeerProgress(max_inflight_);
    pr.learner = learner;
    pr.next = last_index + 1;
    if (id == self) pr.match = last_index;
  }
}

ConfState ProgressTracker::Conf() const {
  ConfState conf;
  for (const auto& [id, pr] : progress_) {
    (pr.learner ? conf.learners : conf.voters).push_back(id);
  }
  return conf;
}

PeerProgress* ProgressTracker::Get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const PeerProgress* ProgressTracker::Get(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

bool ProgressTracker::IsVoter(NodeId id) const {
  const PeerProgress* pr = Get(id);
  return pr != nullptr && !pr->learner;
}

size_t ProgressTracker::VoterCount() const {
  return std::count_if(progress_.begin(), progress_.end(),
                       [](const auto& kv) { return !kv.second.learner; });
}

void ProgressTracker::AddLearner(NodeId id, Index last_index) {
  if (progress_.count(id) != 0) return;
  auto [it, _] = progress_.emplace(id, PeerProgress(max_inflight_));
  it->second.learner = true;
  it->second.next = last_index + 1;
  // A new member gets a full election timeout before CheckQuorum counts it.
  it->second.recent_active = true;
}

void ProgressTracker::Promote(NodeId id, Index last_index) {
  PeerProgress* pr = Get(id);
  if (pr == nullptr) {
    AddLearner(id, last_index);
    pr = Get(id);
  }
  pr->learner = false;
}

Index ProgressTracker::QuorumMatch() const {
  std::vector<Index> matches;
  for (const auto& [id, pr] : progress_) {
    if (!pr.learner) matches.push_back(pr.match);
  }
  if (matches.empty()) return 0;
  std::sort(matches.begin(), matches.end(), std::greater<Index>());
  return matches[Quorum() - 1];
}

bool ProgressTracker::QuorumActive(NodeId self) const {
  std::vector<NodeId> active;
  for (const auto& [id, pr] : progress_) {
    if (id == self || pr.recent_active) active.push_back(id);
  }
  return HasQuorum(active);
}

bool ProgressTracker::HasQuorum(const std::vector<NodeId>& acks) const {
  size_t voters = 0;
  for (NodeId id : acks) voters += IsVoter(id) ? 1 : 0;
  return VoterCount() > 0 && voters >= Quorum();
}

VoteResult ProgressTracker::TallyVotes() const {
  size_t granted = 0;
  size_t rejected = 0;
  for (const auto& [id, yes] : votes_) {
    if (!IsVoter(id)) continue;
    (yes ? granted : rejected) += 1;
  }
  if (VoterCount() == 0) return VoteResult::kLost;
  if (granted >= Quorum()) return VoteResult::kWon;
  if (rejected > VoterCount() - Quorum()) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace shardkv::raft
