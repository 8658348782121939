// SegmentLogStore::Load(): finding the segments and replaying their records.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "node/storage/encoding.h"
#include "node/storage/segment_log_store.h"

namespace shardkv::storage {
namespace {

Status Corrupt(const std::string& path, uint64_t offset,
               const std::string& what) {
  return DataLoss("corrupt raft log segment " + path + " at offset " +
                  std::to_string(offset) + ": " + what +
                  "; refusing to start (restore the replica from its peers)");
}

const char* OutcomeName(ParseOutcome outcome) {
  switch (outcome) {
    case ParseOutcome::kRecord:
      return "record";
    case ParseOutcome::kEnd:
      return "end";
    case ParseOutcome::kTorn:
      return "truncated record";
    case ParseOutcome::kCorrupt:
      return "bad checksum or record type";
  }
  return "?";
}

// Bytes of the valid records at the start of `data`.
size_t ValidPrefix(std::string_view data) {
  size_t offset = 0;
  LogRecord record;
  while (ParseLogRecord(data.substr(offset), &record) ==
         ParseOutcome::kRecord) {
    offset += record.bytes;
  }
  return offset;
}

}  // namespace

// The log as the records seen so far describe it. Entries may start after
// base.index + 1 while replaying (older segments were deleted once a
// compaction base covered them); Load() checks the final state.
struct SegmentLogStore::ReplayState {
  raft::HardState hard_state;
  raft::ConfState bootstrap_conf;
  raft::SnapshotMeta base;
  raft::Index first = 1;  // index of locations.front()
  std::deque<Location> locations;
};

Status SegmentLogStore::Load() {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_.clear();
    index_.clear();
    cache_.Clear();
    hard_state_ = {};
    bootstrap_conf_ = {};
    base_ = {};
    last_index_ = 0;
  }
  current_seq_ = 0;
  write_offset_ = 0;
  header_bytes_ = 0;
  unsynced_ = false;
  SHARDKV_RETURN_IF_ERROR(LoadSegments());
  if (options_.prepare_in_background && !preparer_.joinable()) {
    preparer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "log-prepare");
      PrepareLoop();
    });
  }
  return Status::Ok();
}

Status SegmentLogStore::LoadSegments() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Internal("cannot create " + dir_ + ": " + ec.message());
  std::filesystem::remove(PreparedPath(), ec);  // unfinished: made again
  static const std::regex kName("[0-9a-f]{16}\\.seg");
  std::vector<uint64_t> seqs;
  for (const auto& file : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = file.path().filename().string();
    if (std::regex_match(name, kName)) {
      seqs.push_back(std::stoull(name.substr(0, 16), nullptr, 16));
    }
  }
  if (ec) return Internal("cannot list " + dir_ + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 1; i < seqs.size(); ++i) {
    if (seqs[i] != seqs[i - 1] + 1) {
      return DataLoss("raft log segment " + SegmentPath(seqs[i - 1] + 1) +
                      " is missing; refusing to start");
    }
  }
  // A last segment without a single whole record holds nothing that was
  // acknowledged (a crash right after rotating): drop it.
  while (!seqs.empty()) {
    auto file = SegmentFile::Open(SegmentPath(seqs.back()), seqs.back());
    if (!file.ok()) return file.status();
    std::string data;
    SHARDKV_RETURN_IF_ERROR((*file)->ReadAll(&data));
    if (ValidPrefix(data) > 0) break;
    file->reset();
    if (::unlink(SegmentPath(seqs.back()).c_str()) != 0) {
      return Internal("cannot remove empty segment " +
                      SegmentPath(seqs.back()));
    }
    SHARDKV_RETURN_IF_ERROR(SyncDir(dir_));
    seqs.pop_back();
  }
  ReplayState state;
  for (size_t i = 0; i < seqs.size(); ++i) {
    SHARDKV_RETURN_IF_ERROR(
        ReplaySegment(seqs[i], i + 1 == seqs.size(), &state));
  }
  while (!state.locations.empty() && state.first <= state.base.index) {
    state.locations.pop_front();
    ++state.first;
  }
  if (!state.locations.empty() && state.first != state.base.index + 1) {
    return DataLoss("raft log in " + dir_ + " has a gap: entries start at " +
                    std::to_string(state.first) + " after a base of " +
                    std::to_string(state.base.index) + "; refusing to start");
  }
  std::lock_guard<std::mutex> lock(mu_);
  hard_state_ = state.hard_state;
  bootstrap_conf_ = state.bootstrap_conf;
  base_ = state.base;
  index_ = std::move(state.locations);
  last_index_ = base_.index + index_.size();
  written_base_ = synced_base_ = base_.index;
  return Status::Ok();
}

Status SegmentLogStore::ReplaySegment(uint64_t seq, bool last,
                                      ReplayState* state) {
  const std::string path = SegmentPath(seq);
  auto opened = SegmentFile::Open(path, seq);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<SegmentFile> file = std::move(opened).value();
  std::string data;
  SHARDKV_RETURN_IF_ERROR(file->ReadAll(&data));
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_[seq].file = nullptr;  // created before records refer to it
  }
  size_t offset = 0;
  for (;;) {
    LogRecord record;
    ParseOutcome outcome =
        ParseLogRecord(std::string_view(data).substr(offset), &record);
    if (outcome != ParseOutcome::kRecord) {
      if (last || outcome == ParseOutcome::kEnd) break;
      return Corrupt(path, offset, OutcomeName(outcome));
    }
    if (offset == 0) {
      uint64_t recorded = 0;
      if (record.type != LogRecordType::kSegmentStart ||
          !DecodeSegmentStart(record.payload, &recorded) || recorded != seq) {
        return Corrupt(path, 0, "no segment start record for this file");
      }
    } else {
      SHARDKV_RETURN_IF_ERROR(ApplyRecord(record, seq, offset, state));
    }
    offset += record.bytes;
  }
  if (last) {
    // Cut a torn write: zero what follows the last whole record, or a
    // later restart could read an old record beyond new, shorter ones.
    const std::string_view tail = std::string_view(data).substr(offset);
    if (std::any_of(tail.begin(), tail.end(), [](char c) { return c; })) {
      SHARDKV_RETURN_IF_ERROR(file->ZeroFrom(offset));
    }
    // What was read may be in the page cache only (a kill before the
    // fsync): make it durable before the core treats it as persisted.
    SHARDKV_RETURN_IF_ERROR(file->Sync());
    current_seq_ = seq;
    write_offset_ = offset;
    header_bytes_ = 0;
  }
  std::lock_guard<std::mutex> lock(mu_);
  segments_[seq].file = std::move(file);
  return Status::Ok();
}

Status SegmentLogStore::ApplyRecord(const LogRecord& record, uint64_t seq,
                                    uint64_t offset, ReplayState* state) {
  const std::string path = SegmentPath(seq);
  switch (record.type) {
    case LogRecordType::kSegmentStart:
      return Corrupt(path, offset, "segment start record inside a segment");
    case LogRecordType::kEntry: {
      Location loc{seq, offset, static_cast<uint32_t>(record.bytes), 0,
                   raft::EntryType::kNormal};
      raft::Index i = 0;
      if (!PeekEntryRecord(record.payload, &i, &loc.term, &loc.type) ||
          i == 0) {
        return Corrupt(path, offset, "bad entry record");
      }
      auto& locations = state->locations;
      const raft::Index next = state->first + locations.size();
      if (locations.empty() || i < state->first || i > next) {
        // First entry, a rewrite of everything, or entries after a gap
        // (their predecessors were compacted; checked at the end).
        locations.clear();
        state->first = i;
      } else {
        locations.resize(i - state->first);  // drops a conflicting suffix
      }
      locations.push_back(loc);
      std::lock_guard<std::mutex> lock(mu_);
      Segment& segment = segments_[seq];
      segment.max_index = std::max(segment.max_index, i);
      return Status::Ok();
    }
    case LogRecordType::kHardState:
      if (!DecodeHardState(record.payload, &state->hard_state)) {
        return Corrupt(path, offset, "bad hard state record");
      }
      return Status::Ok();
    case LogRecordType::kBase:
    case LogRecordType::kSnapshot: {
      raft::SnapshotMeta meta;
      if (!DecodeSnapshotMeta(record.payload, &meta)) {
        return Corrupt(path, offset, "bad base record");
      }
      state->base = meta;
      if (record.type == LogRecordType::kSnapshot) {
        state->locations.clear();
        state->first = meta.index + 1;
      }
      while (!state->locations.empty() && state->first <= meta.index) {
        state->locations.pop_front();
        ++state->first;
      }
      if (state->locations.empty()) {
        state->first = std::max(state->first, meta.index + 1);
      }
      return Status::Ok();
    }
    case LogRecordType::kBootstrapConf: {
      Decoder in(record.payload);
      if (!GetConfState(&in, &state->bootstrap_conf)) {
        return Corrupt(path, offset, "bad bootstrap conf record");
      }
      return Status::Ok();
    }
  }
  return Corrupt(path, offset, "unknown record type");
}

}  // namespace shardkv::storage
