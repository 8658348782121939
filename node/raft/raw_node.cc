#include "node/raft/raw_node.h"

#include <utility>

#include "node/raft/raft.h"

namespace shardkv::raft {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

class RawNode::Impl {
 public:
  Impl(const Config& config, const LogStorage* storage)
      : raft(config, storage),
        prev_soft(raft.soft_state()),
        prev_hard(storage->InitialHardState()) {}

  Raft raft;
  SoftState prev_soft;
  HardState prev_hard;
  // Async mode: number of the next Ready and the last snapshot handed out.
  uint64_t next_ready = 1;
  Index last_snapshot_handed_out = 0;
};

RawNode::RawNode(const Config& config, const LogStorage* storage)
    : impl_(std::make_unique<Impl>(config, storage)) {}

RawNode::~RawNode() = default;

void RawNode::Tick() { impl_->raft.Tick(); }
void RawNode::Campaign() { impl_->raft.Campaign(/*transfer=*/false); }
Status RawNode::Step(const Message& message) {
  return impl_->raft.Step(message);
}

StatusOr<std::vector<LogPosition>> RawNode::Propose(
    std::vector<std::string> data) {
  return impl_->raft.Propose(std::move(data));
}

StatusOr<LogPosition> RawNode::ProposeConfChange(const ConfChange& change) {
  return impl_->raft.ProposeConfChange(change);
}

ConfState RawNode::ApplyConfChange(const ConfChange& change) {
  return impl_->raft.ApplyConfChange(change);
}

Status RawNode::ReadIndex(std::string context) {
  return impl_->raft.ReadIndex(std::move(context));
}

Status RawNode::TransferLeadership(NodeId to) {
  return impl_->raft.TransferLeadership(to);
}

void RawNode::ReportUnreachable(NodeId id) {
  impl_->raft.ReportUnreachable(id);
}

void RawNode::ReportSnapshot(NodeId id, bool success) {
  impl_->raft.ReportSnapshot(id, success);
}

LeaseView RawNode::GetLeaseView() const { return impl_->raft.GetLeaseView(); }

bool RawNode::HasReady() const {
  const Raft& r = impl_->raft;
  return r.soft_state() != impl_->prev_soft ||
         r.hard_state() != impl_->prev_hard || r.log().HasEntriesToPersist() ||
         r.log().SnapshotToPersist().has_value() || r.HasMessages() ||
         r.HasReadStates() || r.log().HasNextCommittedEntries();
}

Ready RawNode::GetReady() {
  Raft& r = impl_->raft;
  Ready rd;
  if (r.soft_state() != impl_->prev_soft) {
    rd.soft_state = r.soft_state();
    impl_->prev_soft = r.soft_state();
  }
  if (r.hard_state() != impl_->prev_hard) {
    rd.hard_state = r.hard_state();
    impl_->prev_hard = r.hard_state();
  }
  rd.entries = r.log().EntriesToPersist();
  rd.snapshot = r.log().SnapshotToPersist();
  r.log().MarkPersisting();
  rd.committed_entries =
      r.log().NextCommittedEntries(r.config().max_committed_bytes_per_ready);
  if (!rd.committed_entries.empty()) {
    r.log().ApplyingTo(rd.committed_entries.back().index);
  }
  rd.messages = r.TakeMessages();
  rd.messages_after_persist = r.TakeMessagesAfterPersist();
  rd.read_states = r.TakeReadStates();
  if (rd.snapshot) impl_->last_snapshot_handed_out = rd.snapshot->index;
  // Everything in the log has now been handed out for persistence.
  rd.persist.ready = impl_->next_ready++;
  rd.persist.index = r.log().LastIndex();
  rd.persist.term = r.log().LastTerm();
  rd.persist.snapshot_index = impl_->last_snapshot_handed_out;
  if (r.config().async_storage_writes) r.HandedOut(rd.persist.ready);
  return rd;
}

void RawNode::Advance(const Ready& ready) {
  Raft& r = impl_->raft;
  if (r.config().async_storage_writes) {
    // Durability is reported by OnPersisted.
    if (!ready.committed_entries.empty()) {
      r.AppliedTo(ready.committed_entries.back().index);
    }
    return;
  }
  if (ready.snapshot) r.log().StableSnapshotTo(ready.snapshot->index);
  if (!ready.entries.empty()) {
    r.log().StableTo(ready.entries.back().index, ready.entries.back().term);
  }
  if (!ready.committed_entries.empty()) {
    r.AppliedTo(ready.committed_entries.back().index);
  }
}

void RawNode::OnPersisted(const PersistMark& mark) {
  if (impl_->raft.config().async_storage_writes) impl_->raft.OnPersisted(mark);
}

RaftStatus RawNode::GetStatus() const { return impl_->raft.GetStatus(); }

}  // namespace shardkv::raft
