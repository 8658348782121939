// The follower: AppendEntries and InstallSnapshot receiver rules
// [Figure 2, §5], heartbeats, and leadership transfer's TimeoutNow [§3.10].
#include "node/raft/raft.h"

namespace shardkv::raft {

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      return;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign now, skipping PreVote, and let
      // voters ignore their lease.
      Campaign(true);
      return;
    default:
      return;  // stale responses
  }
}

void Raft::HandleAppend(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  // Everything up to our commit index matches the leader already.
  if (m.index < log_.committed()) {
    resp.index = log_.committed();
    Send(std::move(resp));
    return;
  }
  std::optional<Index> last_new =
      log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries);
  if (!last_new) {
    // Reply false if the log has no entry at prevLogIndex whose term
    // matches prevLogTerm; hint where the leader should probe next.
    Index hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()),
                                         m.log_term);
    resp.reject = true;
    resp.index = m.index;
    resp.reject_hint = hint;
    resp.log_term = log_.TermOrZero(hint);
    Send(std::move(resp));
    return;
  }
  resp.index = *last_new;
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  // m.commit <= what the leader knows we hold.
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Message resp;
  resp.type = MessageType::kHeartbeatResponse;
  resp.to = m.from;
  resp.context = m.context;
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  resp.index = Restore(m.snapshot) ? log_.LastIndex() : log_.committed();
  Send(std::move(resp));
}

// InstallSnapshot receiver [§5.1]: discard the log unless it already
// contains the snapshot's last entry.
bool Raft::Restore(const SnapshotMeta& meta) {
  if (meta.index <= log_.committed()) return false;
  if (log_.MatchTerm(meta.index, meta.term)) {
    // Our log has it: just fast-forward the commit index.
    log_.CommitTo(meta.index);
    return false;
  }
  // The snapshot's membership may predate our own addition (the leader
  // compacted before adding us); the entries after it will add us.
  log_.Restore(meta);
  tracker_.Reset(meta.conf, log_.LastIndex());
  return true;
}

}  // namespace shardkv::raft
