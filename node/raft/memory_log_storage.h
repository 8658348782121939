// MemoryLogStorage: an in-memory LogStorage, the reference implementation.
//
// The RocksDB store (node/storage) must behave exactly like this class:
// Append truncates conflicting suffixes, Compact drops a prefix while keeping
// the term of the last compacted entry, ApplySnapshot discards the whole log.
//
// Invariants: entries_ holds FirstIndex()..LastIndex() contiguously;
// snapshot_.index == FirstIndex() - 1.
//
// Thread-safety: not thread-safe; used from the thread driving the RawNode.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace shardkv::raft {

class MemoryLogStorage : public LogStorage {
 public:
  MemoryLogStorage() = default;
  // A new group's replica: `voters` persisted as the initial ConfState.
  explicit MemoryLogStorage(ConfState initial_conf);

  HardState InitialHardState() const override { return hard_state_; }
  ConfState InitialConfState() const override { return conf_; }
  Status Entries(Index lo, Index hi, uint64_t max_bytes,
                 std::vector<Entry>* out) const override;
  StatusOr<Term> TermAt(Index i) const override;
  Index FirstIndex() const override { return snapshot_.index + 1; }
  Index LastIndex() const override { return snapshot_.index + entries_.size(); }
  SnapshotMeta Snapshot() const override { return snapshot_; }

  // Appends `entries` (contiguous), replacing any existing entries from
  // entries[0].index on. REQUIRES: entries[0].index <= LastIndex() + 1.
  // Entries at or below the compaction point are skipped.
  Status Append(const std::vector<Entry>& entries);
  void SetHardState(const HardState& hs) { hard_state_ = hs; }
  void SetConfState(const ConfState& conf) { conf_ = conf; }
  // Makes `meta` the log's base: the whole log is discarded, the conf state
  // becomes meta.conf. Ignored (kFailedPrecondition) when older than the
  // current snapshot.
  Status ApplySnapshot(const SnapshotMeta& meta);
  // Discards entries up to and including `index`, which becomes the
  // snapshot point (with `conf` as its membership).
  // REQUIRES: index <= LastIndex().
  Status Compact(Index index, const ConfState& conf);
  // Same, keeping the current conf state as the snapshot's membership.
  Status Compact(Index index) { return Compact(index, conf_); }

 private:
  HardState hard_state_;
  ConfState conf_;
  SnapshotMeta snapshot_;
  std::vector<Entry> entries_;  // entries_[k].index == snapshot_.index+1+k
};

}  // namespace shardkv::raft
