#include "node/storage/segment_log_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/failpoint.h"
#include "node/storage/encoding.h"

namespace shardkv::storage {

SegmentLogStore::SegmentLogStore(std::string dir, SegmentLogOptions options)
    : dir_(std::move(dir)), options_(options) {}

SegmentLogStore::~SegmentLogStore() { StopPreparer(); }

std::string SegmentLogStore::SegmentPath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.seg",
                static_cast<unsigned long long>(seq));
  return dir_ + "/" + name;
}

std::string SegmentLogStore::PreparedPath() const {
  return dir_ + "/prepared.tmp";
}

void SegmentLogStore::SetCacheLimits(size_t max_entries, uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.max_entries = max_entries;
  cache_.max_bytes = max_bytes;
  cache_.Evict();
}

Status SegmentLogStore::Bootstrap(const raft::ConfState& conf) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_index_ != 0 || base_.index != 0) {
      return FailedPrecondition("bootstrap of a replica that has a log");
    }
    bootstrap_conf_ = conf;
  }
  std::string payload;
  PutConfState(&payload, conf);
  std::string records;
  AppendLogRecord(&records, LogRecordType::kBootstrapConf, payload);
  uint64_t seq = 0, offset = 0;
  return Append(records, /*sync=*/true, &seq, &offset);
}

Status SegmentLogStore::Save(const std::optional<raft::HardState>& hard_state,
                             const std::vector<raft::Entry>& entries,
                             bool sync) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::string records;
  std::span<const raft::Entry> fresh;
  raft::SnapshotMeta base;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Entries at or below the compaction point are already applied: skip.
    auto first = std::find_if(
        entries.begin(), entries.end(),
        [&](const raft::Entry& e) { return e.index > base_.index; });
    fresh = std::span<const raft::Entry>(first, entries.end());
    if (!fresh.empty() && fresh.front().index > last_index_ + 1) {
      return FailedPrecondition("log gap: appending " +
                                std::to_string(fresh.front().index) +
                                " after " + std::to_string(last_index_));
    }
    base = base_;
  }
  for (size_t i = 1; i < fresh.size(); ++i) {
    if (fresh[i].index != fresh[i - 1].index + 1) {
      return InvalidArgument("entries to append are not contiguous");
    }
  }
  // Where each entry's record starts within `records`.
  std::vector<uint64_t> starts;
  starts.reserve(fresh.size());
  for (const raft::Entry& e : fresh) {
    starts.push_back(records.size());
    AppendEntryRecord(&records, e);
  }
  if (hard_state) {
    AppendLogRecord(&records, LogRecordType::kHardState,
                    EncodeHardState(*hard_state));
  }
  // A base moved by Compact() since the last write.
  if (base.index > written_base_) {
    AppendLogRecord(&records, LogRecordType::kBase, EncodeSnapshotMeta(base));
  }
  if (records.empty()) return Status::Ok();
  SHARDKV_FAILPOINT("raft.before_persist");
  uint64_t seq = 0, offset = 0;
  SHARDKV_RETURN_IF_ERROR(Append(records, sync, &seq, &offset));
  written_base_ = std::max(written_base_, base.index);
  if (sync) synced_base_ = written_base_;
  SHARDKV_FAILPOINT("raft.after_persist");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (hard_state) hard_state_ = *hard_state;
    if (!fresh.empty()) {
      // Compact() may have moved base_ meanwhile, never past last_index_.
      const raft::Index from = fresh.front().index;
      if (from <= base_.index) {
        index_.clear();
      } else {
        index_.resize(from - base_.index - 1);
      }
      for (size_t i = 0; i < fresh.size(); ++i) {
        const raft::Entry& e = fresh[i];
        if (e.index <= base_.index) continue;
        const uint64_t end =
            i + 1 < starts.size() ? starts[i + 1] : records.size();
        index_.push_back(Location{seq, offset + starts[i],
                                  static_cast<uint32_t>(end - starts[i]),
                                  e.term, e.type});
      }
      last_index_ = std::max(base_.index, fresh.back().index);
      Segment& segment = segments_[seq];
      segment.max_index = std::max(segment.max_index, fresh.back().index);
      cache_.TruncateFrom(from);
      cache_.Append(fresh);
    }
  }
  if (sync) DeleteObsoleteSegments();
  return Status::Ok();
}

Status SegmentLogStore::ApplySnapshot(const raft::SnapshotMeta& meta) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (meta.index < base_.index) {
      return FailedPrecondition("snapshot at " + std::to_string(meta.index) +
                                " is older than the log's base " +
                                std::to_string(base_.index));
    }
  }
  std::string records;
  AppendLogRecord(&records, LogRecordType::kSnapshot, EncodeSnapshotMeta(meta));
  uint64_t seq = 0, offset = 0;
  SHARDKV_RETURN_IF_ERROR(Append(records, /*sync=*/true, &seq, &offset));
  written_base_ = synced_base_ = meta.index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    base_ = meta;
    last_index_ = meta.index;
    index_.clear();
    cache_.Clear();
    // Every entry written before the snapshot record is discarded.
    for (auto& [s, segment] : segments_) segment.max_index = 0;
    segments_[seq].max_index = meta.index;
  }
  DeleteObsoleteSegments();
  return Status::Ok();
}

Status SegmentLogStore::Compact(raft::Index upto) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (upto <= base_.index) return Status::Ok();
    if (upto > last_index_) {
      return FailedPrecondition("compacting to " + std::to_string(upto) +
                                " beyond the last index " +
                                std::to_string(last_index_));
    }
    raft::SnapshotMeta meta{upto, index_[upto - base_.index - 1].term,
                            ConfAtBaseLocked()};
    // Conf changes are rare: only their records are read.
    for (raft::Index i = base_.index + 1; i <= upto; ++i) {
      if (index_[i - base_.index - 1].type != raft::EntryType::kConfChange) {
        continue;
      }
      StatusOr<raft::Entry> e = ReadEntryLocked(i);
      if (!e.ok()) return e.status();
      auto change = raft::ConfChange::Decode(e->data);
      if (!change) {
        return DataLoss("corrupt raft log: conf change at " +
                        std::to_string(i));
      }
      ApplyConfChange(*change, &meta.conf);
    }
    index_.erase(index_.begin(), index_.begin() + (upto - base_.index));
    base_ = meta;
    cache_.DropUpTo(upto);
  }
  // Write the base record now (unsynced) unless a Save() is writing,
  // maybe through an fsync: then that Save() or the next one writes it,
  // and the raft thread does not wait.
  std::unique_lock<std::mutex> write_lock(write_mu_, std::try_to_lock);
  if (!write_lock.owns_lock()) return Status::Ok();
  raft::SnapshotMeta base = Snapshot();
  if (base.index <= written_base_) return Status::Ok();
  std::string records;
  AppendLogRecord(&records, LogRecordType::kBase, EncodeSnapshotMeta(base));
  uint64_t seq = 0, offset = 0;
  SHARDKV_RETURN_IF_ERROR(Append(records, /*sync=*/false, &seq, &offset));
  written_base_ = base.index;
  return Status::Ok();
}

Status SegmentLogStore::Append(const std::string& records, bool sync,
                               uint64_t* seq, uint64_t* offset) {
  if (current_seq_ == 0 ||
      (write_offset_ + records.size() > options_.segment_bytes &&
       write_offset_ > header_bytes_)) {
    SHARDKV_RETURN_IF_ERROR(Rotate());
  }
  SegmentFile* file = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    file = segments_.at(current_seq_).file.get();
  }
  // Only this thread deletes segments, and never the current one.
  SHARDKV_RETURN_IF_ERROR(file->Write(write_offset_, records));
  if (sync) {
    SHARDKV_RETURN_IF_ERROR(file->Sync());
    unsynced_ = false;
  } else {
    unsynced_ = true;
  }
  *seq = current_seq_;
  *offset = write_offset_;
  write_offset_ += records.size();
  if (!next_requested_ && write_offset_ > options_.segment_bytes / 2) {
    // Half full: zero-fill the next segment meanwhile.
    next_requested_ = true;
    PrepareNext();
  }
  return Status::Ok();
}

std::string SegmentLogStore::SegmentHeader(uint64_t seq) {
  std::string records;
  AppendLogRecord(&records, LogRecordType::kSegmentStart,
                  SegmentStartPayload(seq));
  std::lock_guard<std::mutex> lock(mu_);
  std::string conf;
  PutConfState(&conf, bootstrap_conf_);
  AppendLogRecord(&records, LogRecordType::kBootstrapConf, conf);
  AppendLogRecord(&records, LogRecordType::kHardState,
                  EncodeHardState(hard_state_));
  AppendLogRecord(&records, LogRecordType::kBase, EncodeSnapshotMeta(base_));
  written_base_ = std::max(written_base_, base_.index);
  return records;
}

Status SegmentLogStore::Rotate() {
  if (current_seq_ != 0 && unsynced_) {
    // Nothing but the last segment may end in a torn write.
    SegmentFile* file = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      file = segments_.at(current_seq_).file.get();
    }
    SHARDKV_RETURN_IF_ERROR(file->Sync());
    unsynced_ = false;
  }
  const uint64_t seq = current_seq_ + 1;
  std::string prepared;
  SHARDKV_RETURN_IF_ERROR(TakePreparedFile(&prepared));
  const std::string path = SegmentPath(seq);
  if (::rename(prepared.c_str(), path.c_str()) != 0) {
    return Internal("cannot rename " + prepared + " to " + path);
  }
  next_requested_ = false;
  // The new name must survive a crash before anything in it counts.
  SHARDKV_RETURN_IF_ERROR(SyncDir(dir_));
  auto file = SegmentFile::Open(path, seq);
  if (!file.ok()) return file.status();
  const std::string header = SegmentHeader(seq);
  SHARDKV_RETURN_IF_ERROR((*file)->Write(0, header));
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_[seq].file = std::move(file).value();
  }
  current_seq_ = seq;
  write_offset_ = header_bytes_ = header.size();
  unsynced_ = true;
  return Status::Ok();
}

void SegmentLogStore::DeleteObsoleteSegments() {
  std::vector<std::unique_ptr<SegmentFile>> obsolete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = segments_.begin(); it != segments_.end();) {
      if (it->first >= current_seq_ || it->second.max_index > synced_base_) {
        break;  // segments go in order: keep this one and every later one
      }
      obsolete.push_back(std::move(it->second.file));
      it = segments_.erase(it);
    }
  }
  if (obsolete.empty()) return;
  for (const auto& file : obsolete) ::unlink(file->path().c_str());
  // Not synced: a segment that comes back after a crash is deleted again.
}

Status SegmentLogStore::TakePreparedFile(std::string* path) {
  *path = PreparedPath();
  if (!options_.prepare_in_background || !preparer_.joinable()) {
    return SegmentFile::Prepare(*path, options_.segment_bytes);
  }
  std::unique_lock<std::mutex> lock(prepare_mu_);
  if (prepare_state_ == PrepareState::kTaken) {  // not asked for yet
    prepare_state_ = PrepareState::kPreparing;
    prepare_cv_.notify_all();
  }
  prepare_cv_.wait(lock, [&] {
    return prepare_state_ != PrepareState::kPreparing || stop_preparing_;
  });
  if (prepare_state_ == PrepareState::kFailed) {
    prepare_state_ = PrepareState::kPreparing;  // try again for the next one
    prepare_cv_.notify_all();
    return std::exchange(prepare_error_, Status::Ok());
  }
  if (prepare_state_ != PrepareState::kReady) {
    return Unavailable("the raft log is closing");
  }
  prepare_state_ = PrepareState::kTaken;
  return Status::Ok();
}

void SegmentLogStore::PrepareNext() {
  if (!preparer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(prepare_mu_);
    if (prepare_state_ != PrepareState::kTaken) return;
    prepare_state_ = PrepareState::kPreparing;
  }
  prepare_cv_.notify_all();
}

void SegmentLogStore::PrepareLoop() {
  std::unique_lock<std::mutex> lock(prepare_mu_);
  for (;;) {
    prepare_cv_.wait(lock, [&] {
      return stop_preparing_ || prepare_state_ == PrepareState::kPreparing;
    });
    if (stop_preparing_) return;
    lock.unlock();
    Status s = SegmentFile::Prepare(PreparedPath(), options_.segment_bytes);
    lock.lock();
    if (s.ok()) {
      prepare_state_ = PrepareState::kReady;
    } else {
      prepare_error_ = s;
      prepare_state_ = PrepareState::kFailed;
    }
    prepare_cv_.notify_all();
  }
}

void SegmentLogStore::StopPreparer() {
  {
    std::lock_guard<std::mutex> lock(prepare_mu_);
    stop_preparing_ = true;
  }
  prepare_cv_.notify_all();
  if (preparer_.joinable()) preparer_.join();
}

}  // namespace shardkv::storage
