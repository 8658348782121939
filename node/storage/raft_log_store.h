// RaftLogStore: the durable Raft log and hard state on RocksDB, implementing
// raft::LogStorage for the core. Keeps the log's tail in memory so appends
// to followers rarely touch RocksDB.
//
// Durability: Save() is one RocksDB write batch with sync = true (fsync of
// the WAL) -- the server calls it once per Ready, so all entries proposed
// meanwhile share one fsync (group commit). Nothing is acknowledged before
// Save() returns.
//
// Thread-safety: thread-safe. Save() may run on a log-writer thread while
// the raft thread reads; Save() calls must not overlap each other, nor
// ApplySnapshot()/Compact() with a Save() touching the same entries.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "node/storage/engine.h"
#include "node/storage/entry_tail_cache.h"
#include "node/storage/raft_log.h"

namespace shardkv::storage {

class RaftLogStore : public RaftLog {
 public:
  explicit RaftLogStore(Engine* engine);

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

 private:
  StatusOr<raft::Term> TermAtLocked(raft::Index i) const;
  raft::ConfState ConfAtBaseLocked() const;
  // Reads [lo, hi) from RocksDB, appending to `out` while the data sizes,
  // summed in `bytes`, stay <= max_bytes (the first entry always).
  Status ReadFromDisk(raft::Index lo, raft::Index hi, uint64_t max_bytes,
                      uint64_t* bytes, std::vector<raft::Entry>* out) const;
  // Folds the conf changes in (base_.index, upto] into `conf`.
  Status FoldConfChanges(raft::Index upto, raft::ConfState* conf) const;

  Engine* const engine_;
  mutable std::mutex mu_;  // guards everything below
  raft::HardState hard_state_;
  raft::ConfState bootstrap_conf_;
  // Compaction point: entries <= base_.index are gone.
  raft::SnapshotMeta base_;
  raft::Index last_index_ = 0;
  // The newest entries, contiguous and ending at last_index_ when not empty.
  EntryTailCache cache_;  // newest entries, ending at last_index_
};

}  // namespace shardkv::storage
