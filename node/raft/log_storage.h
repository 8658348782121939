// LogStorage: the persisted part of the Raft log, read by the core.
//
// The core never writes to it. The caller persists what Ready hands out
// (entries, hard state, snapshots) into its implementation, then calls
// RawNode::Advance(). node/storage implements it on RocksDB; MemoryLogStorage
// (memory_log_storage.h) is the reference used by the simulation tests.
//
// Thread-safety: called only from the thread driving the RawNode.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "node/raft/types.h"

namespace shardkv::raft {

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // State as of the last persist; used once, when a RawNode is created.
  virtual HardState InitialHardState() const = 0;
  virtual ConfState InitialConfState() const = 0;

  // Entries in [lo, hi), at least one if lo < hi, and stopping once their
  // data exceeds max_bytes. Errors: kOutOfRange (code) when lo was compacted
  // away (lo < FirstIndex()), kUnavailable when hi > LastIndex() + 1.
  virtual Status Entries(Index lo, Index hi, uint64_t max_bytes,
                         std::vector<Entry>* out) const = 0;
  // Term of entry i, for FirstIndex()-1 <= i <= LastIndex() (the term of
  // FirstIndex()-1 is the snapshot's). kOutOfRange when compacted.
  virtual StatusOr<Term> TermAt(Index i) const = 0;
  // First index still in the log: snapshot index + 1.
  virtual Index FirstIndex() const = 0;
  virtual Index LastIndex() const = 0;
  // Metadata of the latest snapshot / compaction point ({0, 0} initially).
  virtual SnapshotMeta Snapshot() const = 0;
};

}  // namespace shardkv::raft
