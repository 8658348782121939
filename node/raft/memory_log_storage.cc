#include "node/raft/memory_log_storage.h"

#include <string>
#include <utility>

namespace shardkv::raft {

MemoryLogStorage::MemoryLogStorage(ConfState initial_conf)
    : conf_(std::move(initial_conf)) {}

Status MemoryLogStorage::Entries(Index lo, Index hi, uint64_t max_bytes,
                                 std::vector<Entry>* out) const {
  if (lo < FirstIndex()) {
    return OutOfRange("entry " + std::to_string(lo) + " was compacted");
  }
  if (hi > LastIndex() + 1) {
    return Unavailable("entry " + std::to_string(hi - 1) +
                       " is beyond the last index");
  }
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - FirstIndex()];
    bytes += e.data.size();
    // Always return at least one entry, even above the limit.
    if (i > lo && bytes > max_bytes) break;
    out->push_back(e);
  }
  return Status::Ok();
}

StatusOr<Term> MemoryLogStorage::TermAt(Index i) const {
  if (i < snapshot_.index) {
    return OutOfRange("term of " + std::to_string(i) + " was compacted");
  }
  if (i == snapshot_.index) return snapshot_.term;
  if (i > LastIndex()) {
    return Unavailable("entry " + std::to_string(i) + " is beyond the log");
  }
  return entries_[i - FirstIndex()].term;
}

Status MemoryLogStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return Status::Ok();
  Index first = entries.front().index;
  if (first > LastIndex() + 1) {
    return FailedPrecondition("append leaves a gap after " +
                              std::to_string(LastIndex()));
  }
  size_t skip = 0;
  while (skip < entries.size() && entries[skip].index < FirstIndex()) ++skip;
  if (skip == entries.size()) return Status::Ok();
  entries_.resize(entries[skip].index - FirstIndex());
  entries_.insert(entries_.end(), entries.begin() + skip, entries.end());
  return Status::Ok();
}

Status MemoryLogStorage::ApplySnapshot(const SnapshotMeta& meta) {
  if (meta.index < snapshot_.index) {
    return FailedPrecondition("snapshot is older than the current one");
  }
  snapshot_ = meta;
  conf_ = meta.conf;
  entries_.clear();
  return Status::Ok();
}

Status MemoryLogStorage::Compact(Index index, const ConfState& conf) {
  if (index <= snapshot_.index) return Status::Ok();
  if (index > LastIndex()) {
    return FailedPrecondition("compact beyond the last index");
  }
  Term term = entries_[index - FirstIndex()].term;
  entries_.erase(entries_.begin(),
                 entries_.begin() + (index - snapshot_.index));
  snapshot_ = SnapshotMeta{index, term, conf};
  return Status::Ok();
}

}  // namespace shardkv::raft
