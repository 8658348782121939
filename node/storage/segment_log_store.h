// SegmentLogStore: the durable Raft log in our own segment files
// (log_segment.h has the format), implementing RaftLog. Replaces the
// RocksDB column families (raft_log_store.h), whose WAL append, memtable
// insert and later flush/compaction of soon-deleted data cost ~20 % of a
// node's CPU (docs/benchmarks.md).
//
// Durability: Save() is one pwrite of all its records into the current
// segment plus, when `sync`, one fdatasync. Segments are zero-filled ahead
// of time (once the current one is half full) by a "log-prepare" thread, so
// that fdatasync only overwrites allocated blocks: one data I/O, no journal
// commit. Load() replays the records in write order; a torn or garbage tail of
// the LAST segment (a crash mid-write) is cut at its first bad record and
// zeroed; a bad record anywhere else is corruption: Load() fails with
// kDataLoss.
//
// Every segment starts with the hard state, base and bootstrap conf, so
// older segments hold nothing but entries: a segment is deleted once its
// entries are all at or below a compaction base that a synced record
// holds. Compact() itself only moves the base in memory; the next Save()
// writes it.
//
// Invariants (under mu_): index_ holds the location of every entry in
// (base_.index, last_index_], in order; the tail cache is a suffix of it.
// Locations only refer to segments in segments_.
//
// Thread-safety: as RaftLog. Writers (Save, Bootstrap, ApplySnapshot)
// serialize on write_mu_ and write files without mu_ held; readers hold
// mu_, which also guards deleting segment files.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "node/storage/entry_tail_cache.h"
#include "node/storage/log_segment.h"
#include "node/storage/raft_log.h"

namespace shardkv::storage {

struct SegmentLogOptions {
  // Preallocated size of a segment. A Save() larger than that gets a
  // segment of its own that grows past it.
  uint64_t segment_bytes = 64ull << 20;
  // Prepare the next segment on a background thread (else at rotation,
  // on the writer's thread).
  bool prepare_in_background = true;
};

class SegmentLogStore : public RaftLog {
 public:
  explicit SegmentLogStore(std::string dir, SegmentLogOptions options = {});
  ~SegmentLogStore() override;
  SegmentLogStore(const SegmentLogStore&) = delete;
  SegmentLogStore& operator=(const SegmentLogStore&) = delete;

  // RaftLog (raft_log.h)
  Status Load() override;
  Status Bootstrap(const raft::ConfState& conf) override;
  Status Save(const std::optional<raft::HardState>& hard_state,
              const std::vector<raft::Entry>& entries, bool sync) override;
  Status ApplySnapshot(const raft::SnapshotMeta& meta) override;
  Status Compact(raft::Index upto) override;
  void SetCacheLimits(size_t max_entries, uint64_t max_bytes) override;

  // raft::LogStorage
  raft::HardState InitialHardState() const override;
  raft::ConfState InitialConfState() const override;
  Status Entries(raft::Index lo, raft::Index hi, uint64_t max_bytes,
                 std::vector<raft::Entry>* out) const override;
  StatusOr<raft::Term> TermAt(raft::Index i) const override;
  raft::Index FirstIndex() const override;
  raft::Index LastIndex() const override;
  raft::SnapshotMeta Snapshot() const override;

  // Segment files in use (tests).
  size_t SegmentCount() const;

 private:
  struct Location {
    uint64_t seq;
    uint64_t offset;  // of the record
    uint32_t bytes;   // of the record, header included
    raft::Term term;
    raft::EntryType type;
  };
  struct Segment {
    std::unique_ptr<SegmentFile> file;
    raft::Index max_index = 0;  // highest entry index ever written to it
  };
  struct ReplayState;

  // Load() helpers (segment_log_load.cc).
  Status LoadSegments();
  Status ReplaySegment(uint64_t seq, bool last, ReplayState* state);
  Status ApplyRecord(const LogRecord& record, uint64_t seq, uint64_t offset,
                     ReplayState* state);

  // Writes `records` (whole records) at the end of the current segment,
  // rotating first when they do not fit; sets *seq and *offset to where
  // they start. Syncs when `sync`. REQUIRES: write_mu_ held.
  Status Append(const std::string& records, bool sync, uint64_t* seq,
                uint64_t* offset);
  Status Rotate();
  // The records every segment starts with. REQUIRES: write_mu_ held.
  std::string SegmentHeader(uint64_t seq);
  // After a sync: deletes segments no longer needed. REQUIRES: write_mu_.
  void DeleteObsoleteSegments();
  // A zero-filled file ready to become the next segment.
  Status TakePreparedFile(std::string* path);
  // After the taken file was renamed: the preparer may make the next one.
  void PrepareNext();
  void PrepareLoop();
  void StopPreparer();
  std::string SegmentPath(uint64_t seq) const;
  std::string PreparedPath() const;

  StatusOr<raft::Entry> ReadEntryLocked(raft::Index i) const;
  raft::ConfState ConfAtBaseLocked() const;

  const std::string dir_;
  const SegmentLogOptions options_;

  mutable std::mutex mu_;  // guards everything below up to write_mu_
  raft::HardState hard_state_;
  raft::ConfState bootstrap_conf_;
  raft::SnapshotMeta base_;  // entries <= base_.index are gone
  raft::Index last_index_ = 0;
  std::deque<Location> index_;  // entries base_.index + 1 .. last_index_
  std::map<uint64_t, Segment> segments_;
  EntryTailCache cache_;  // newest entries, ending at last_index_

  std::mutex write_mu_;       // serializes writers; guards the fields below
  uint64_t current_seq_ = 0;  // 0: no segment yet
  uint64_t write_offset_ = 0;
  uint64_t header_bytes_ = 0;  // of the current segment
  bool unsynced_ = false;
  bool next_requested_ = false;   // the preparer was asked for the next one
  raft::Index written_base_ = 0;  // base in the files, maybe unsynced
  raft::Index synced_base_ = 0;   // base in synced records

  // The file at PreparedPath(): being written by the preparer, ready,
  // taken by the writer (until renamed), or failed (prepare_error_).
  enum class PrepareState { kPreparing, kReady, kTaken, kFailed };
  std::mutex prepare_mu_;
  std::condition_variable prepare_cv_;
  // kTaken also means "not asked for yet": nothing is prepared before the
  // current segment is half full.
  PrepareState prepare_state_ = PrepareState::kTaken;  // prepare_mu_
  bool stop_preparing_ = false;                        // prepare_mu_
  Status prepare_error_;                               // prepare_mu_
  std::thread preparer_;
};

}  // namespace shardkv::storage
