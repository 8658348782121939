// RaftLog: what the server needs from a durable Raft log, whichever way it
// is stored: raft::LogStorage for the core plus the writes. Two kinds:
//   kSegments (segment_log_store.h): our own append-only segment files in
//     <data dir>/raft-log; the default.
//   kRocksDb (raft_log_store.h): column families raft_log/raft_state of
//     the state machine's RocksDB; kept for comparison.
// A data dir holds one kind for life: OpenRaftLog() records it in
// <data dir>/RAFT_LOG_KIND and refuses to open it as the other kind.
//
// Thread-safety: implementations are thread-safe. Save() may run on a
// log-writer thread while the raft thread reads; Save() calls must not
// overlap each other, nor ApplySnapshot()/Compact() with a Save() touching
// the same entries.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/raft/log_storage.h"
#include "node/storage/engine.h"

namespace shardkv::storage {

class RaftLog : public raft::LogStorage {
 public:
  // Reads what was persisted before (empty for a new replica).
  virtual Status Load() = 0;

  // Bootstrap of a brand-new group: persists the initial voters.
  // REQUIRES: the log is empty.
  virtual Status Bootstrap(const raft::ConfState& conf) = 0;

  // Appends `entries` (dropping any existing entry at or after
  // entries[0].index first; entries at or below the compaction point are
  // skipped) and writes `hard_state` if given, atomically and durably
  // when `sync`.
  virtual Status Save(const std::optional<raft::HardState>& hard_state,
                      const std::vector<raft::Entry>& entries, bool sync) = 0;

  // A snapshot was installed into the state machine: the log now starts
  // after meta.index; every entry (older or newer) is discarded. Durable
  // on return. kFailedPrecondition if meta is older than Snapshot(). The
  // hard state is left alone: the caller saves Ready's hard state as usual.
  // REQUIRES: the state machine holds the snapshot durably.
  virtual Status ApplySnapshot(const raft::SnapshotMeta& meta) = 0;

  // Drops entries up to and including `upto`, which must be applied and
  // durable in the state machine. No-op if already compacted that far;
  // kFailedPrecondition beyond LastIndex(). The new base's conf is the old
  // one with the compacted kConfChange entries folded in. Need not be
  // durable: after a crash the log may start earlier again.
  virtual Status Compact(raft::Index upto) = 0;

  // Bounds of the in-memory tail cache (tests may lower them).
  virtual void SetCacheLimits(size_t max_entries, uint64_t max_bytes) = 0;

  // InitialConfState(): the conf of the compaction point (snapshot) if
  // there is one, else the bootstrap conf. It does not include conf
  // changes still in the log: the server should prefer the state machine's
  // conf when its applied index is newer than Snapshot().index.
  // Entries(): the first entry always, then more while the sum of their
  // data sizes stays <= max_bytes (as MemoryLogStorage).
};

enum class RaftLogKind { kSegments, kRocksDb };

const char* RaftLogKindName(RaftLogKind kind);
// "segments" or "rocksdb"; kInvalidArgument otherwise.
StatusOr<RaftLogKind> ParseRaftLogKind(const std::string& name);

// Opens (unloaded) the log of `kind` for the replica in `data_dir`, whose
// RocksDB is `engine`. kFailedPrecondition if the data dir holds the
// other kind: a log is never converted.
StatusOr<std::unique_ptr<RaftLog>> OpenRaftLog(RaftLogKind kind,
                                               const std::string& data_dir,
                                               Engine* engine);

// The membership rule of single-step changes, as the core applies it
// (used to fold compacted conf changes into the log's base).
void ApplyConfChange(const raft::ConfChange& change, raft::ConfState* conf);

}  // namespace shardkv::storage
