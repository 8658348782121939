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

#include "node/raft/log_storage.h"
#include "node/storage/engine.h"

namespace shardkv::storage {

class RaftLogStore : public raft::LogStorage {
 public:
  explicit RaftLogStore(Engine* engine);

  // Reads what was persisted before (empty for a new replica).
  Status Load();

  // Bootstrap of a brand-new group: persists the initial voters.
  // REQUIRES: the log is empty.
  Status Bootstrap(const raft::ConfState& conf);

  // Appends `entries` (dropping any existing entry at or after
  // entries[0].index first) and writes `hard_state` if given, atomically and
  // durably when `sync`.
  Status Save(const std::optional<raft::HardState>& hard_state,
              const std::vector<raft::Entry>& entries, bool sync);

  // A snapshot was installed into the state machine: the log now starts
  // after meta.index; every entry (older or newer) is discarded.
  // kFailedPrecondition if meta is older than Snapshot(). The hard
  // state is left alone: the caller saves Ready's hard state as usual.
  Status ApplySnapshot(const raft::SnapshotMeta& meta);

  // Drops entries up to and including `upto`, which must be applied and
  // durable in the state machine. No-op if already compacted that far;
  // kFailedPrecondition beyond LastIndex(). The new base's conf is the old
  // one with the compacted kConfChange entries folded in, so Snapshot()
  // and InitialConfState() stay right.
  Status Compact(raft::Index upto);

  // raft::LogStorage
  raft::HardState InitialHardState() const override;
  // The conf of the compaction point (snapshot) if there is one, else the
  // bootstrap conf. It does not include conf changes still in the log: the
  // server should prefer StateMachine::applied().conf when its index is
  // newer than Snapshot().index (the core replays later changes anyway).
  raft::ConfState InitialConfState() const override;
  Status Entries(raft::Index lo, raft::Index hi, uint64_t max_bytes,
                 std::vector<raft::Entry>* out) const override;
  StatusOr<raft::Term> TermAt(raft::Index i) const override;
  raft::Index FirstIndex() const override;
  raft::Index LastIndex() const override;
  raft::SnapshotMeta Snapshot() const override;
  // Entries(): the first entry always, then more while the sum of their
  // data sizes stays <= max_bytes (as MemoryLogStorage).

  // Bounds of the in-memory tail cache (tests may lower them).
  void SetCacheLimits(size_t max_entries, uint64_t max_bytes);

 private:
  StatusOr<raft::Term> TermAtLocked(raft::Index i) const;
  raft::ConfState ConfAtBaseLocked() const;
  // Reads [lo, hi) from RocksDB, appending to `out` while the data sizes,
  // summed in `bytes`, stay <= max_bytes (the first entry always).
  Status ReadFromDisk(raft::Index lo, raft::Index hi, uint64_t max_bytes,
                      uint64_t* bytes, std::vector<raft::Entry>* out) const;
  // Folds the conf changes in (base_.index, upto] into `conf`.
  Status FoldConfChanges(raft::Index upto, raft::ConfState* conf) const;
  void CacheAppend(std::span<const raft::Entry> entries);
  void CacheTruncateFrom(raft::Index index);
  void CacheEvict();

  Engine* const engine_;
  mutable std::mutex mu_;  // guards everything below
  raft::HardState hard_state_;
  raft::ConfState bootstrap_conf_;
  // Compaction point: entries <= base_.index are gone.
  raft::SnapshotMeta base_;
  raft::Index last_index_ = 0;
  // The newest entries, contiguous and ending at last_index_ when not empty.
  std::deque<raft::Entry> cache_;
  uint64_t cache_bytes_ = 0;
  size_t cache_max_entries_ = 4096;
  uint64_t cache_max_bytes_ = 64ull << 20;
};

}  // namespace shardkv::storage
