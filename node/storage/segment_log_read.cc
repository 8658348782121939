// SegmentLogStore's reads (raft::LogStorage) and its tail cache.
#include <algorithm>

#include "node/storage/segment_log_store.h"

namespace shardkv::storage {

raft::HardState SegmentLogStore::InitialHardState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hard_state_;
}

raft::ConfState SegmentLogStore::InitialConfState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ConfAtBaseLocked();
}

raft::ConfState SegmentLogStore::ConfAtBaseLocked() const {
  return base_.index > 0 ? base_.conf : bootstrap_conf_;
}

Status SegmentLogStore::Entries(raft::Index lo, raft::Index hi,
                                uint64_t max_bytes,
                                std::vector<raft::Entry>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->clear();
  if (lo <= base_.index) {
    return OutOfRange("entries from " + std::to_string(lo) +
                      " were compacted (first index " +
                      std::to_string(base_.index + 1) + ")");
  }
  if (hi > last_index_ + 1) {
    return Unavailable("entries up to " + std::to_string(hi) +
                       " are beyond the last index " +
                       std::to_string(last_index_));
  }
  uint64_t bytes = 0;
  const raft::Index cache_first =
      cache_.entries.empty() ? last_index_ + 1 : cache_.entries.front().index;
  for (raft::Index i = lo; i < hi; ++i) {
    if (i >= cache_first) {
      const raft::Entry& e = cache_.entries[i - cache_first];
      bytes += e.data.size();
      if (!out->empty() && bytes > max_bytes) break;
      out->push_back(e);
      continue;
    }
    StatusOr<raft::Entry> e = ReadEntryLocked(i);
    if (!e.ok()) return e.status();
    bytes += e->data.size();
    if (!out->empty() && bytes > max_bytes) break;
    out->push_back(std::move(e).value());
  }
  return Status::Ok();
}

StatusOr<raft::Entry> SegmentLogStore::ReadEntryLocked(raft::Index i) const {
  const Location& loc = index_[i - base_.index - 1];
  auto segment = segments_.find(loc.seq);
  if (segment == segments_.end() || !segment->second.file) {
    return Internal("raft log entry " + std::to_string(i) +
                    " refers to a deleted segment");
  }
  const SegmentFile& file = *segment->second.file;
  std::string data;
  SHARDKV_RETURN_IF_ERROR(file.Read(loc.offset, loc.bytes, &data));
  LogRecord record;
  raft::Entry entry;
  if (ParseLogRecord(data, &record) != ParseOutcome::kRecord ||
      record.type != LogRecordType::kEntry ||
      !DecodeEntryRecord(record.payload, &entry) || entry.index != i) {
    return DataLoss("corrupt raft log: entry " + std::to_string(i) + " in " +
                    file.path() + " at offset " + std::to_string(loc.offset));
  }
  return entry;
}

StatusOr<raft::Term> SegmentLogStore::TermAt(raft::Index i) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (i == base_.index) return base_.term;
  if (i < base_.index) {
    return OutOfRange("term of " + std::to_string(i) + " was compacted");
  }
  if (i > last_index_) {
    return Unavailable("term of " + std::to_string(i) +
                       " beyond the last index " + std::to_string(last_index_));
  }
  return index_[i - base_.index - 1].term;
}

raft::Index SegmentLogStore::FirstIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_.index + 1;
}

raft::Index SegmentLogStore::LastIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_index_;
}

raft::SnapshotMeta SegmentLogStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_;
}

size_t SegmentLogStore::SegmentCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.size();
}

}  // namespace shardkv::storage
