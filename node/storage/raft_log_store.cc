#include "node/storage/raft_log_store.h"

#include <algorithm>
#include <memory>
#include <span>

#include "common/failpoint.h"
#include "node/storage/encoding.h"

namespace shardkv::storage {
namespace {

constexpr char kHardStateKey[] = "hard_state";
constexpr char kLogBaseKey[] = "log_base";
constexpr char kConfStateKey[] = "conf_state";

Status Corrupt(const std::string& what) {
  return DataLoss("corrupt raft state: " + what);
}

}  // namespace

RaftLogStore::RaftLogStore(Engine* engine) : engine_(engine) {}

void RaftLogStore::SetCacheLimits(size_t max_entries, uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.max_entries = max_entries;
  cache_.max_bytes = max_bytes;
  cache_.Evict();
}

Status RaftLogStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::DB* db = engine_->db();
  auto* state_cf = engine_->cf(Column::kRaftState);
  std::string value;
  hard_state_ = {};
  bootstrap_conf_ = {};
  base_ = {};
  rocksdb::Status s = db->Get({}, state_cf, kHardStateKey, &value);
  if (s.ok() && !DecodeHardState(value, &hard_state_)) {
    return Corrupt("hard state");
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading hard state");
  s = db->Get({}, state_cf, kConfStateKey, &value);
  if (s.ok()) {
    Decoder in(value);
    if (!GetConfState(&in, &bootstrap_conf_)) return Corrupt("conf state");
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading conf state");
  }
  s = db->Get({}, state_cf, kLogBaseKey, &value);
  if (s.ok() && !DecodeSnapshotMeta(value, &base_)) return Corrupt("log base");
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading log base");

  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator({}, engine_->cf(Column::kRaftLog)));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "seeking log end");
  last_index_ = base_.index;
  if (it->Valid()) {
    if (it->key().size() != 8) return Corrupt("log key size");
    last_index_ =
        std::max(last_index_, DecodeBigEndian(it->key().ToStringView()));
  }
  cache_.Clear();
  return Status::Ok();
}

Status RaftLogStore::Bootstrap(const raft::ConfState& conf) {
  std::lock_guard<std::mutex> lock(mu_);
  if (last_index_ != 0 || base_.index != 0) {
    return FailedPrecondition("bootstrap of a replica that has a log");
  }
  std::string value;
  PutConfState(&value, conf);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = engine_->db()->Put(wo, engine_->cf(Column::kRaftState),
                                         kConfStateKey, value);
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "writing the bootstrap membership"));
  bootstrap_conf_ = conf;
  return Status::Ok();
}

Status RaftLogStore::Save(const std::optional<raft::HardState>& hard_state,
                          const std::vector<raft::Entry>& entries, bool sync) {
  // The in-memory state is locked, the RocksDB write is not: in async mode
  // the raft thread reads older entries while this (the log writer) syncs.
  // Only one thread saves at a time, so last_index_ cannot move meanwhile.
  std::unique_lock<std::mutex> lock(mu_);
  // Entries at or below the compaction point are already applied: skip.
  auto first =
      std::find_if(entries.begin(), entries.end(),
                   [&](const raft::Entry& e) { return e.index > base_.index; });
  const std::span<const raft::Entry> fresh(first, entries.end());
  if (!fresh.empty()) {
    if (fresh.front().index > last_index_ + 1) {
      return FailedPrecondition("log gap: appending " +
                                std::to_string(fresh.front().index) +
                                " after " + std::to_string(last_index_));
    }
    for (size_t i = 1; i < fresh.size(); ++i) {
      if (fresh[i].index != fresh[i - 1].index + 1) {
        return InvalidArgument("entries to append are not contiguous");
      }
    }
  }
  rocksdb::WriteBatch batch;
  auto* log_cf = engine_->cf(Column::kRaftLog);
  for (const auto& e : fresh) {
    // Header and data as two parts: the data is copied once, into the batch.
    const std::string key = BigEndianKey(e.index);
    const std::string header = EncodeEntryHeader(e);
    const rocksdb::Slice key_part(key);
    const rocksdb::Slice value_parts[2] = {header, e.data};
    batch.Put(log_cf, rocksdb::SliceParts(&key_part, 1),
              rocksdb::SliceParts(value_parts, 2));
  }
  if (!fresh.empty() && fresh.back().index < last_index_) {
    // The rest of a conflicting suffix.
    batch.DeleteRange(log_cf, BigEndianKey(fresh.back().index + 1),
                      BigEndianKey(last_index_ + 1));
  }
  if (hard_state) {
    batch.Put(engine_->cf(Column::kRaftState), kHardStateKey,
              EncodeHardState(*hard_state));
  }
  lock.unlock();
  SHARDKV_FAILPOINT("raft.before_persist");
  // Written unsynced, then the WAL synced on its own: a Write with
  // sync=true holds RocksDB's write queue through the fsync, so the raft
  // thread's state machine writes (same WAL) would wait for every fsync.
  // SyncWAL lets them proceed meanwhile; it makes durable everything
  // written before it, this batch included. Nobody reads the new entries
  // from RocksDB before last_index_ moves below.
  rocksdb::Status s = engine_->db()->Write(rocksdb::WriteOptions(), &batch);
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "saving raft log entries"));
  if (sync) {
    s = engine_->db()->SyncWAL();
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "syncing the raft log"));
  }
  SHARDKV_FAILPOINT("raft.after_persist");
  lock.lock();
  if (hard_state) hard_state_ = *hard_state;
  if (!fresh.empty()) {
    cache_.TruncateFrom(fresh.front().index);
    cache_.Append(fresh);
    last_index_ = fresh.back().index;
  }
  return Status::Ok();
}

Status RaftLogStore::ApplySnapshot(const raft::SnapshotMeta& meta) {
  std::lock_guard<std::mutex> lock(mu_);
  if (meta.index < base_.index) {
    return FailedPrecondition("snapshot at " + std::to_string(meta.index) +
                              " is older than the log's base " +
                              std::to_string(base_.index));
  }
  rocksdb::WriteBatch batch;
  auto* log_cf = engine_->cf(Column::kRaftLog);
  batch.DeleteRange(log_cf, BigEndianKey(0),
                    BigEndianKey(std::max(last_index_, meta.index) + 1));
  batch.Put(engine_->cf(Column::kRaftState), kLogBaseKey,
            EncodeSnapshotMeta(meta));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = engine_->db()->Write(wo, &batch);
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "resetting the log to a snapshot"));
  base_ = meta;
  last_index_ = meta.index;
  cache_.Clear();
  return Status::Ok();
}

Status RaftLogStore::Compact(raft::Index upto) {
  std::lock_guard<std::mutex> lock(mu_);
  if (upto <= base_.index) return Status::Ok();
  if (upto > last_index_) {
    return FailedPrecondition("compacting to " + std::to_string(upto) +
                              " beyond the last index " +
                              std::to_string(last_index_));
  }
  StatusOr<raft::Term> term = TermAtLocked(upto);
  if (!term.ok()) return term.status();
  raft::SnapshotMeta meta{upto, *term, ConfAtBaseLocked()};
  SHARDKV_RETURN_IF_ERROR(FoldConfChanges(upto, &meta.conf));
  rocksdb::WriteBatch batch;
  batch.DeleteRange(engine_->cf(Column::kRaftLog), BigEndianKey(0),
                    BigEndianKey(upto + 1));
  batch.Put(engine_->cf(Column::kRaftState), kLogBaseKey,
            EncodeSnapshotMeta(meta));
  // Not synced: losing it after a crash only means compacting again.
  rocksdb::Status s = engine_->db()->Write({}, &batch);
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "compacting the raft log"));
  base_ = meta;
  cache_.DropUpTo(upto);
  return Status::Ok();
}

Status RaftLogStore::FoldConfChanges(raft::Index upto,
                                     raft::ConfState* conf) const {
  const raft::Index lo = base_.index + 1;
  // Conf changes are rare: scan the range once, keeping only them.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  const std::string end = BigEndianKey(upto + 1);
  rocksdb::Slice end_slice(end);
  ro.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(ro, engine_->cf(Column::kRaftLog)));
  for (it->Seek(BigEndianKey(lo)); it->Valid(); it->Next()) {
    rocksdb::Slice v = it->value();
    if (v.size() < 9) return Corrupt("log entry too short");
    if (v[8] != static_cast<char>(raft::EntryType::kConfChange)) continue;
    raft::Entry e;
    if (!DecodeEntry(DecodeBigEndian(it->key().ToStringView()),
                     v.ToStringView(), &e)) {
      return Corrupt("log entry");
    }
    auto change = raft::ConfChange::Decode(e.data);
    if (!change) return Corrupt("conf change at " + std::to_string(e.index));
    ApplyConfChange(*change, conf);
  }
  return FromRocks(it->status(), "reading conf changes of the log");
}

raft::HardState RaftLogStore::InitialHardState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hard_state_;
}

raft::ConfState RaftLogStore::InitialConfState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ConfAtBaseLocked();
}

raft::ConfState RaftLogStore::ConfAtBaseLocked() const {
  return base_.index > 0 ? base_.conf : bootstrap_conf_;
}

Status RaftLogStore::Entries(raft::Index lo, raft::Index hi, uint64_t max_bytes,
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
  if (lo >= hi) return Status::Ok();
  uint64_t bytes = 0;
  const raft::Index cache_first =
      cache_.entries.empty() ? last_index_ + 1 : cache_.entries.front().index;
  if (lo < cache_first) {
    SHARDKV_RETURN_IF_ERROR(
        ReadFromDisk(lo, std::min(hi, cache_first), max_bytes, &bytes, out));
    if (out->empty() || out->back().index + 1 < std::min(hi, cache_first)) {
      return Status::Ok();  // stopped by the size budget
    }
  }
  for (raft::Index i = std::max(lo, cache_first); i < hi; ++i) {
    const raft::Entry& e = cache_.entries[i - cache_first];
    bytes += e.data.size();
    if (!out->empty() && bytes > max_bytes) break;
    out->push_back(e);
  }
  return Status::Ok();
}

Status RaftLogStore::ReadFromDisk(raft::Index lo, raft::Index hi,
                                  uint64_t max_bytes, uint64_t* bytes,
                                  std::vector<raft::Entry>* out) const {
  rocksdb::ReadOptions ro;
  const std::string end = BigEndianKey(hi);
  rocksdb::Slice end_slice(end);
  ro.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(ro, engine_->cf(Column::kRaftLog)));
  raft::Index expected = lo;
  for (it->Seek(BigEndianKey(lo)); it->Valid(); it->Next()) {
    raft::Entry e;
    if (!DecodeEntry(expected, it->value().ToStringView(), &e) ||
        DecodeBigEndian(it->key().ToStringView()) != expected) {
      return Corrupt("log entry " + std::to_string(expected));
    }
    *bytes += e.data.size();
    if (!out->empty() && *bytes > max_bytes) return Status::Ok();
    out->push_back(std::move(e));
    ++expected;
  }
  SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "reading raft log"));
  if (expected != hi) {
    return Corrupt("log entry " + std::to_string(expected) + " is missing");
  }
  return Status::Ok();
}

StatusOr<raft::Term> RaftLogStore::TermAt(raft::Index i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return TermAtLocked(i);
}

StatusOr<raft::Term> RaftLogStore::TermAtLocked(raft::Index i) const {
  if (i == base_.index) return base_.term;
  if (i < base_.index) {
    return OutOfRange("term of " + std::to_string(i) + " was compacted");
  }
  if (i > last_index_) {
    return Unavailable("term of " + std::to_string(i) +
                       " beyond the last index " + std::to_string(last_index_));
  }
  if (!cache_.entries.empty() && i >= cache_.entries.front().index) {
    return cache_.entries[i - cache_.entries.front().index].term;
  }
  std::string value;
  rocksdb::Status s = engine_->db()->Get({}, engine_->cf(Column::kRaftLog),
                                         BigEndianKey(i), &value);
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "reading term of a log entry"));
  raft::Entry e;
  if (!DecodeEntry(i, value, &e)) return Corrupt("log entry");
  return e.term;
}

raft::Index RaftLogStore::FirstIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_.index + 1;
}
raft::Index RaftLogStore::LastIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_index_;
}
raft::SnapshotMeta RaftLogStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_;
}

}  // namespace shardkv::storage
