#include "node/raft/raft_log.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace shardkv::raft {

RaftLog::RaftLog(const LogStorage* storage, Index applied)
    : storage_(storage),
      unstable_offset_(storage->LastIndex() + 1),
      persisting_to_(storage->LastIndex()) {
  Index base = storage->FirstIndex() - 1;
  // Async storage writes apply an entry once it is committed and durable
  // here, possibly before the hard state recording the commit index is:
  // what the caller applied is committed.
  committed_ = std::max({storage->InitialHardState().commit, base,
                         std::min(applied, storage->LastIndex())});
  applied_ = std::clamp(applied, base, committed_);
  applying_ = applied_;
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->index + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_.empty()) return unstable_offset_ + unstable_.size() - 1;
  if (unstable_snapshot_) return unstable_snapshot_->index;
  return storage_->LastIndex();
}

Term RaftLog::LastTerm() const { return TermOrZero(LastIndex()); }

StatusOr<Term> RaftLog::TermAt(Index i) const {
  if (i + 1 < FirstIndex()) {
    return OutOfRange("term of " + std::to_string(i) + " was compacted");
  }
  if (i > LastIndex()) {
    return Unavailable("entry " + std::to_string(i) + " is beyond the log");
  }
  if (i >= unstable_offset_) return unstable_[i - unstable_offset_].term;
  if (unstable_snapshot_) return unstable_snapshot_->term;  // i == snap index
  return storage_->TermAt(i);
}

Term RaftLog::TermOrZero(Index i) const {
  StatusOr<Term> t = TermAt(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  StatusOr<Term> ours = TermAt(i);
  return ours.ok() && *ours == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  Term our_term = LastTerm();
  if (last_term != our_term) return last_term > our_term;
  return last_index >= LastIndex();
}

Status RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes,
                      std::vector<Entry>* out) const {
  if (lo < FirstIndex()) {
    return OutOfRange("entry " + std::to_string(lo) + " was compacted");
  }
  if (hi > LastIndex() + 1) {
    return Unavailable("slice beyond the last index");
  }
  if (lo >= hi) return Status::Ok();
  size_t start = out->size();
  if (lo < unstable_offset_) {
    Index stored_hi = std::min(hi, unstable_offset_);
    SHARDKV_RETURN_IF_ERROR(storage_->Entries(lo, stored_hi, max_bytes, out));
    // Storage stopped early because of the byte limit.
    if (out->size() - start < stored_hi - lo) return Status::Ok();
  }
  uint64_t bytes = 0;
  for (size_t k = start; k < out->size(); ++k) bytes += (*out)[k].data.size();
  for (Index i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_[i - unstable_offset_];
    bytes += e.data.size();
    if (out->size() > start && bytes > max_bytes) break;
    out->push_back(e);
  }
  return Status::Ok();
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term,
                                          Index leader_commit,
                                          const std::vector<Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  Index last_new = prev_index + entries.size();
  Index conflict = FindConflict(entries);
  if (conflict != 0) {
    if (conflict <= committed_) {
      SHARDKV_LOG(kError) << "raft: entry " << conflict
                          << " conflicts with the committed log";
      std::abort();
    }
    Append(std::vector<Entry>(entries.begin() + (conflict - prev_index - 1),
                              entries.end()));
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

void RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  Index after = entries.front().index;
  if (after <= committed_) {
    SHARDKV_LOG(kError) << "raft: append at " << after << " below commit "
                        << committed_;
    std::abort();
  }
  // Entries being persisted from `after` on are replaced: hand out the
  // new ones (the writer overwrites in order).
  persisting_to_ = std::min(persisting_to_, after - 1);
  if (after == unstable_offset_ + unstable_.size()) {
    // Plain append to the tail.
  } else if (after <= unstable_offset_) {
    // Replaces the whole unstable tail and shadows storage from `after` on.
    unstable_offset_ = after;
    unstable_.clear();
  } else {
    unstable_.resize(after - unstable_offset_);
  }
  unstable_.insert(unstable_.end(), entries.begin(), entries.end());
}

Index RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return 0;
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  index = std::min(index, LastIndex());
  while (index > 0) {
    StatusOr<Term> t = TermAt(index);
    if (!t.ok() || *t <= term) break;
    --index;
  }
  return index;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  if (index > LastIndex()) {
    SHARDKV_LOG(kError) << "raft: commit " << index << " beyond last index "
                        << LastIndex();
    std::abort();
  }
  committed_ = index;
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index <= committed_ || TermOrZero(index) != term) return false;
  CommitTo(index);
  return true;
}

void RaftLog::Restore(const SnapshotMeta& meta) {
  unstable_snapshot_ = meta;
  unstable_.clear();
  unstable_offset_ = meta.index + 1;
  persisting_to_ = meta.index;
  snapshot_persisting_ = false;
  committed_ = meta.index;
  applying_ = meta.index;
  applied_ = meta.index;
}

bool RaftLog::HasEntriesToPersist() const {
  return !unstable_.empty() && LastIndex() > persisting_to_;
}

std::vector<Entry> RaftLog::EntriesToPersist() const {
  if (!HasEntriesToPersist()) return {};
  return std::vector<Entry>(
      unstable_.begin() + (persisting_to_ + 1 - unstable_offset_),
      unstable_.end());
}

std::optional<SnapshotMeta> RaftLog::SnapshotToPersist() const {
  if (snapshot_persisting_) return std::nullopt;
  return unstable_snapshot_;
}

void RaftLog::MarkPersisting() {
  persisting_to_ = LastIndex();
  if (unstable_snapshot_) snapshot_persisting_ = true;
}

Index RaftLog::DurableIndex() const {
  return unstable_snapshot_ ? 0 : unstable_offset_ - 1;
}

Index RaftLog::ApplyLimit() const {
  return apply_only_durable_ ? std::min(committed_, DurableIndex())
                             : committed_;
}

bool RaftLog::HasNextCommittedEntries() const {
  return ApplyLimit() > applying_ && !unstable_snapshot_;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  std::vector<Entry> out;
  if (!HasNextCommittedEntries()) return out;
  Status st = Slice(applying_ + 1, ApplyLimit() + 1, max_bytes, &out);
  if (!st.ok()) {
    SHARDKV_LOG(kError) << "raft: cannot read committed entries: "
                        << st.ToString();
    std::abort();
  }
  return out;
}

void RaftLog::ApplyingTo(Index index) {
  applying_ = std::max(applying_, index);
}

void RaftLog::AppliedTo(Index index) {
  applied_ = std::max(applied_, index);
  applying_ = std::max(applying_, applied_);
}

void RaftLog::StableTo(Index index, Term term) {
  if (index < unstable_offset_ || unstable_.empty()) return;
  if (index >= unstable_offset_ + unstable_.size()) return;
  // A newer leader may have replaced the entry since it was handed out.
  if (unstable_[index - unstable_offset_].term != term) return;
  unstable_.erase(unstable_.begin(),
                  unstable_.begin() + (index - unstable_offset_ + 1));
  unstable_offset_ = index + 1;
  persisting_to_ = std::max(persisting_to_, index);
}

void RaftLog::StableSnapshotTo(Index index) {
  if (unstable_snapshot_ && unstable_snapshot_->index == index) {
    unstable_snapshot_.reset();
    snapshot_persisting_ = false;
  }
}

}  // namespace shardkv::raft
