// The leader: replication with flow control [§10.2], commitment [§3.6],
// proposals, membership changes [§4.1], leadership transfer [§3.10] and
// ReadIndex [§6.4].
#include <algorithm>

#include "common/log.h"
#include "node/raft/raft.h"

namespace shardkv::raft {

void Raft::StepLeader(const Message& m) {
  PeerProgress* pr = tracker_.Get(m.from);
  if (pr == nullptr) return;  // not (or no longer) a member
  switch (m.type) {
    case MessageType::kAppendResponse:
      HandleAppendResponse(m, pr);
      return;
    case MessageType::kHeartbeatResponse:
      HandleHeartbeatResponse(m, pr);
      return;
    default:
      return;  // stale votes, our own term's leader messages cannot exist
  }
}

void Raft::HandleAppendResponse(const Message& m, PeerProgress* pr) {
  pr->recent_active = true;
  NodeId from = m.from;
  if (m.reject) {
    // The follower has term m.log_term at m.reject_hint; none of our
    // entries with a higher term can match there, so skip them too.
    Index hint = m.reject_hint;
    if (m.log_term > 0) hint = log_.FindConflictByTerm(hint, m.log_term);
    if (!pr->MaybeDecrTo(m.index, hint)) return;  // stale
    if (pr->state == PeerProgress::State::kReplicate) pr->BecomeProbe();
    MaybeSendAppend(from, false);
    return;
  }
  bool was_paused = pr->IsPaused();
  if (!pr->MaybeUpdate(m.index)) return;  // stale or duplicate
  switch (pr->state) {
    case PeerProgress::State::kProbe:
      pr->BecomeReplicate();
      break;
    case PeerProgress::State::kSnapshot:
      if (pr->match >= pr->pending_snapshot) {
        pr->BecomeProbe();
        pr->BecomeReplicate();
      }
      break;
    case PeerProgress::State::kReplicate:
      pr->inflights.FreeLE(m.index);
      break;
  }
  if (MaybeCommit()) {
    BroadcastAppend();
  } else if (was_paused) {
    MaybeSendAppend(from, false);
  }
  // Fill the pipeline while the window allows.
  while (MaybeSendAppend(from, false)) {
  }
  if (from == lead_transferee_ && pr->match == log_.LastIndex()) {
    SendTimeoutNow(from);
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, PeerProgress* pr) {
  pr->recent_active = true;
  pr->probe_sent = false;
  if (pr->state == PeerProgress::State::kReplicate && pr->inflights.Full()) {
    pr->inflights.FreeFirstOne();
  }
  // An empty append still probes: if earlier appends were lost, the
  // follower's rejection puts it back on track.
  if (pr->match < log_.LastIndex()) MaybeSendAppend(m.from, true);
  if (m.context.empty()) return;
  auto released = read_only_.RecvAck(m.from, m.context, tracker_);
  if (!released) return;
  for (ReadState& rs : *released) read_states_.push_back(std::move(rs));
  if (read_only_.HasQueued()) StartReadRound();
}

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  PeerProgress* pr = tracker_.Get(to);
  if (pr == nullptr || to == config_.id || pr->IsPaused()) return false;
  Index prev_index = pr->next - 1;
  StatusOr<Term> prev_term = log_.TermAt(prev_index);
  std::vector<Entry> entries;
  Status st = prev_term.ok()
                  ? log_.Slice(pr->next, log_.LastIndex() + 1,
                               config_.max_bytes_per_append, &entries)
                  : prev_term.status();
  if (!st.ok()) {
    // The entries the follower needs were compacted away [§5].
    if (st.code() == Code::kOutOfRange) return SendSnapshot(to, pr);
    SHARDKV_LOG(kError) << "raft " << config_.id << ": cannot read log for "
                        << to << ": " << st.ToString();
    return false;
  }
  if (entries.empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev_index;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  Index last = entries.empty() ? prev_index : entries.back().index;
  size_t count = entries.size();
  m.entries = std::move(entries);
  Send(std::move(m));
  pr->SentEntries(last, count);
  return true;
}

bool Raft::SendSnapshot(NodeId to, PeerProgress* pr) {
  // Do not stream a snapshot to a peer we have not heard from.
  if (!pr->recent_active) return false;
  SnapshotMeta meta = storage_->Snapshot();
  if (meta.index == 0) return false;
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = meta;
  Send(std::move(m));
  pr->BecomeSnapshot(meta.index);
  return true;
}

void Raft::SendHeartbeat(NodeId to, const std::string& context) {
  const PeerProgress* pr = tracker_.Get(to);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  // Never let a follower commit past what it is known to hold.
  m.commit = std::min(pr->match, log_.committed());
  m.context = context;
  Send(std::move(m));
}

void Raft::BroadcastAppend() {
  for (const auto& [id, pr] : tracker_.all()) {
    if (id != config_.id) MaybeSendAppend(id, true);
  }
}

void Raft::BroadcastHeartbeat() {
  std::string context = read_only_.InFlightContext();
  for (const auto& [id, pr] : tracker_.all()) {
    if (id != config_.id) SendHeartbeat(id, context);
  }
}

void Raft::SendTimeoutNow(NodeId to) {
  // Keep refusing proposals for a full election timeout: were the transfer
  // aborted while the target campaigns, entries appended meanwhile would
  // make its log stale and the election fail.
  transfer_elapsed_ = 0;
  ++handovers_;
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  Send(std::move(m));
}

bool Raft::MaybeCommit() {
  if (!log_.MaybeCommit(tracker_.QuorumMatch(), term_)) return false;
  while (!uncommitted_.empty() &&
         uncommitted_.front().first <= log_.committed()) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  return true;
}

void Raft::AppendEntries(std::vector<Entry> entries) {
  Index index = log_.LastIndex();
  for (Entry& e : entries) {
    e.term = term_;
    e.index = ++index;
    if (!e.data.empty()) {
      uncommitted_.emplace_back(e.index, e.data.size());
      uncommitted_bytes_ += e.data.size();
    }
  }
  log_.Append(entries);
  // Async mode: the entries count for us once durable (UpdateSelfMatch).
  PeerProgress* self = tracker_.Get(config_.id);
  if (self != nullptr && !async_) self->MaybeUpdate(index);
  MaybeCommit();  // a single voter commits at once
  BroadcastAppend();
}

// A leader must not count itself in a quorum for an entry not on its own
// disk; it may send the entries before writing them [§10.2.1].
void Raft::UpdateSelfMatch() {
  PeerProgress* self = tracker_.Get(config_.id);
  if (self == nullptr || !self->MaybeUpdate(log_.DurableIndex())) return;
  if (MaybeCommit()) BroadcastAppend();
}

Status Raft::CheckCanPropose() const {
  if (role_ != Role::kLeader) return FailedPrecondition("not the leader");
  if (lead_transferee_ != kNoNode) {
    return FailedPrecondition("leadership transfer in progress");
  }
  return Status::Ok();
}

StatusOr<std::vector<LogPosition>> Raft::Propose(
    std::vector<std::string> data) {
  SHARDKV_RETURN_IF_ERROR(CheckCanPropose());
  uint64_t bytes = 0;
  for (const std::string& d : data) bytes += d.size();
  // Always admit a proposal when nothing is uncommitted, however large.
  if (uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + bytes > config_.max_uncommitted_bytes) {
    return ResourceExhausted("too many uncommitted bytes");
  }
  std::vector<Entry> entries;
  std::vector<LogPosition> positions;
  Index index = log_.LastIndex();
  for (std::string& d : data) {
    entries.push_back(Entry{term_, 0, EntryType::kNormal, std::move(d)});
    positions.push_back(LogPosition{term_, ++index});
  }
  AppendEntries(std::move(entries));
  return positions;
}

Status Raft::ValidateConfChange(const ConfChange& change) const {
  if (change.node == kNoNode) return InvalidArgument("node id 0");
  const PeerProgress* pr = tracker_.Get(change.node);
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (pr != nullptr) return FailedPrecondition("already a member");
      return Status::Ok();
    case ConfChangeType::kPromote:
      if (pr == nullptr || !pr->learner) {
        return FailedPrecondition("not a learner");
      }
      return Status::Ok();
    case ConfChangeType::kRemove:
      if (pr == nullptr) return FailedPrecondition("not a member");
      if (!pr->learner && tracker_.VoterCount() == 1) {
        return FailedPrecondition("cannot remove the last voter");
      }
      return Status::Ok();
  }
  return InvalidArgument("unknown conf change type");
}

StatusOr<LogPosition> Raft::ProposeConfChange(const ConfChange& change) {
  SHARDKV_RETURN_IF_ERROR(CheckCanPropose());
  // One change at a time [§4.1]: the previous one must be applied.
  if (pending_conf_index_ > log_.applied()) {
    return FailedPrecondition("a membership change is pending");
  }
  SHARDKV_RETURN_IF_ERROR(ValidateConfChange(change));
  Index index = log_.LastIndex() + 1;
  AppendEntries({Entry{term_, 0, EntryType::kConfChange, change.Encode()}});
  pending_conf_index_ = index;
  return LogPosition{term_, index};
}

ConfState Raft::ApplyConfChange(const ConfChange& change) {
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      tracker_.AddLearner(change.node, log_.LastIndex());
      break;
    case ConfChangeType::kPromote:
      tracker_.Promote(change.node, log_.LastIndex());
      break;
    case ConfChangeType::kRemove:
      tracker_.Remove(change.node);
      if (change.node == lead_transferee_) AbortLeaderTransfer();
      break;
  }
  if (role_ != Role::kLeader) return tracker_.Conf();
  if (!tracker_.IsVoter(config_.id)) {
    // A removed leader steps down, handing over to an up-to-date voter if
    // there is one so the group need not wait for an election timeout.
    NodeId heir = kNoNode;
    for (const auto& [id, pr] : tracker_.all()) {
      if (!pr.learner && pr.match == log_.LastIndex()) heir = id;
    }
    if (heir != kNoNode) SendTimeoutNow(heir);
    BecomeFollower(term_, kNoNode);
    return tracker_.Conf();
  }
  // The quorum changed: entries may now be committed.
  if (MaybeCommit()) BroadcastAppend();
  return tracker_.Conf();
}

Status Raft::ReadIndex(std::string context) {
  if (role_ != Role::kLeader) return FailedPrecondition("not the leader");
  // Until an entry of its term commits, the leader does not know the
  // commit index of its predecessors [§6.4 step 1].
  if (log_.TermOrZero(log_.committed()) != term_) {
    return Unavailable("no entry committed in the current term yet");
  }
  if (tracker_.VoterCount() == 1 && Promotable()) {
    read_states_.push_back(ReadState{log_.committed(), std::move(context)});
    return Status::Ok();
  }
  read_only_.Enqueue(std::move(context));
  if (!read_only_.InFlight()) StartReadRound();
  return Status::Ok();
}

void Raft::StartReadRound() {
  std::string context = read_only_.StartRound(log_.committed(), config_.id);
  for (const auto& [id, pr] : tracker_.all()) {
    if (id != config_.id) SendHeartbeat(id, context);
  }
}

Status Raft::TransferLeadership(NodeId to) {
  if (role_ != Role::kLeader) return FailedPrecondition("not the leader");
  if (to == config_.id) return Status::Ok();
  if (!tracker_.IsVoter(to)) return FailedPrecondition("target not a voter");
  if (lead_transferee_ == to) return Status::Ok();
  lead_transferee_ = to;
  transfer_elapsed_ = 0;  // the transfer aborts after an election timeout
  if (tracker_.Get(to)->match == log_.LastIndex()) {
    SendTimeoutNow(to);
  } else {
    MaybeSendAppend(to, true);
  }
  return Status::Ok();
}

void Raft::ReportUnreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  PeerProgress* pr = tracker_.Get(id);
  if (pr != nullptr && pr->state == PeerProgress::State::kReplicate) {
    pr->BecomeProbe();
  }
}

void Raft::ReportSnapshot(NodeId id, bool success) {
  if (role_ != Role::kLeader) return;
  PeerProgress* pr = tracker_.Get(id);
  if (pr == nullptr || pr->state != PeerProgress::State::kSnapshot) return;
  if (!success) pr->pending_snapshot = 0;
  pr->BecomeProbe();
  // Wait for the follower's response (or a heartbeat round) before the
  // next kAppend.
  pr->probe_sent = true;
}

}  // namespace shardkv::raft
