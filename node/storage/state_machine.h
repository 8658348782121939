// StateMachine: the replicated key-value data of one shard on RocksDB.
//
// Applies committed log entries deterministically: every input (time,
// expiry) comes from the entry, never from the local clock. A key's record
// holds its value, its version (modifications since creation) and its
// absolute expiry. Apply uses the "applied clock" = max(now_ms of all
// applied commands), so an expired key is absent to every later command on
// every replica, whatever its local clock says. Reads use the local clock
// (an expired key is invisible at once); ReclaimExpired() deletes expired
// records in the background.
//
// De-duplication: a command with client_id != 0 whose sequence is <= the
// last applied for that client is not applied again: for == last the stored
// result of the last one is returned, for < last kFailedPrecondition
// "duplicate of an older request" (its result is no longer known; the
// client has moved on, so nobody should be waiting for it). Sessions move
// with snapshots and end after an hour of applied clock without a command
// (swept deterministically at every 16th entry, up to a minute late).
//
// Durability: the applied index is written in the same batch as the data,
// without fsync and without RocksDB's WAL (engine.h): the Raft log is the
// durable record and is replayed from the applied index after a crash.
// What a crash keeps is the state as of the last memtable flush;
// DurableApplied() says which index that is, and the log must keep every
// entry after it.
//
// Slot ownership (sharded mode, slots.h and docs/sharding.md): slot
// commands in the log change each slot's state; every Set/Delete is checked
// against it when applied, every Get when read.
//
// Thread-safety: Apply/Install from the Raft driver thread; Get,
// ReclaimExpired and snapshots may run concurrently from any thread (a
// mutex serializes every writer). One install at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/raft/types.h"
#include "node/storage/engine.h"
#include "node/storage/slots.h"
#include "shardkv/internal/command.pb.h"
#include "shardkv/internal/raft.pb.h"

namespace shardkv::storage {

// Result of one applied command.
struct ApplyResult {
  // OK, or kFailedPrecondition when the condition did not hold, or the
  // slot check's status when `rejection` is set (nothing was applied).
  Status status;
  uint64_t version = 0;          // after a successful set
  bool deleted = false;          // a delete removed an existing key
  uint64_t current_version = 0;  // with a failed condition (0 = absent)
  SlotRejection rejection;       // a Set/Delete refused by the slot check
  // Slot commands: the slot's state and the shard's epoch afterwards.
  SlotState slot_state = SlotState::kNotOwned;
  uint64_t epoch = 0;
};

struct ReadResult {
  // Set when the key's slot is not served here (nothing was read).
  SlotRejection rejection;
  bool found = false;
  std::string value;
  uint64_t version = 0;
  int64_t expire_at_ms = 0;  // 0 = never
};

class SlotExport;

// Applied position, membership and clock: stored with every apply batch.
struct AppliedState {
  raft::Index index = 0;
  raft::Term term = 0;
  int64_t clock_ms = 0;
  raft::ConfState conf;
  std::map<raft::NodeId, std::string> addresses;
};

class SnapshotSource;
class SnapshotSink;

// Default bounds of the apply cache (apply_cache.h): about 100 bytes per
// record entry (plus keys over 15 bytes), so ~30 MB at most.
struct ApplyCacheDefaults {
  static constexpr size_t kMaxRecords = size_t{1} << 18;
  static constexpr size_t kMaxSessions = size_t{1} << 16;
};

class StateMachine {
 public:
  // `cache_limits`: entries of the in-memory apply cache (apply_cache.h);
  // zero disables a part (only to measure what it saves).
  struct CacheLimits {
    size_t records = ApplyCacheDefaults::kMaxRecords;
    size_t sessions = ApplyCacheDefaults::kMaxSessions;
  };
  explicit StateMachine(Engine* engine) : StateMachine(engine, CacheLimits{}) {}
  StateMachine(Engine* engine, CacheLimits cache_limits);
  ~StateMachine();

  // Reads the applied state; finishes or rolls back an interrupted
  // snapshot install.
  Status Load();
  AppliedState applied() const;
  // The applied index a crash now would keep: the one in the flushed
  // files, not counting memtables (at most applied().index).
  StatusOr<raft::Index> DurableApplied() const;

  // Applies one committed kNormal entry holding a serialized
  // internal::CommandBatch (an empty entry is a leader's no-op): one result
  // per command, in order. Writes in one batch with the new applied state.
  Status ApplyEntry(const raft::Entry& entry, std::vector<ApplyResult>* out);
  // Several entries in one RocksDB write (the hot path). Entries at or
  // below the applied index are skipped (replay after a crash) with no
  // results; a kConfChange entry is kInvalidArgument (use ApplyConfChange).
  // A non-OK status means nothing was applied.
  Status ApplyEntries(const std::vector<raft::Entry>& entries,
                      std::vector<std::vector<ApplyResult>>* out);
  // Records the initial membership of a brand-new group (bootstrapped from
  // configuration, so no log entry carries it). REQUIRES: nothing applied.
  Status Bootstrap(const raft::ConfState& conf,
                   const std::map<raft::NodeId, std::string>& addresses);
  // Records a membership change applied at `entry` (kConfChange): the new
  // conf state and, for an added member, its address (change.context).
  Status ApplyConfChange(const raft::Entry& entry,
                         const raft::ConfChange& change,
                         const raft::ConfState& conf);

  // Reads with the local clock; an expired key is not found. The slot
  // check and the read see the same applied state: a key whose slot is not
  // served gets `rejection` set instead of data.
  StatusOr<ReadResult> Get(std::string_view key, int64_t now_ms) const;
  // The slot check alone (a fast path before proposing a write).
  SlotRejection CheckKey(std::string_view key) const;
  // The slot table as applied.
  SlotTable Slots() const;
  // SlotConfig and OWNED/EXPORTING/FROZEN count, cheaper than Slots().
  SlotConfig SlotSummary(uint32_t* owned_slots) const;
  // One round of a slot's copy from a consistent image (slot_export.h):
  // kFailedPrecondition unless the slot is EXPORTING or FROZEN for
  // `migration_id` in that image.
  StatusOr<std::unique_ptr<SlotExport>> ExportSlot(uint64_t migration_id,
                                                   uint32_t slot,
                                                   uint64_t after_index) const;
  // The same round over a batch of slots, from one image.
  StatusOr<std::unique_ptr<SlotExport>> ExportSlots(uint64_t migration_id,
                                                    std::vector<uint32_t> slots,
                                                    uint64_t after_index) const;

  // Deletes up to `limit` records expired by the applied clock, reading at
  // most a few MiB of records per call (at least one). Local and
  // invisible: such keys already read as absent everywhere. Returns count.
  StatusOr<size_t> ReclaimExpired(size_t limit);

  // Estimates for status output.
  uint64_t ApproximateKeys() const;
  uint64_t ApproximateBytes() const;

  // A consistent image of data + sessions + applied state, to stream.
  std::unique_ptr<SnapshotSource> OpenSnapshot() const;
  // Receives a streamed image and replaces the current state atomically
  // (crash-safe: after a crash mid-install the old state is intact).
  std::unique_ptr<SnapshotSink> BeginInstall();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Applied state of the image: index/term/conf become the SnapshotMeta.
  virtual const AppliedState& state() const = 0;
  // Fills the next chunk's column_family/keys/values (about max_bytes;
  // pairs of one column family per chunk: data, sessions, slots, then one
  // kMeta chunk with the applied state). Returns false when the image is
  // exhausted (nothing filled) or on a read error (see status()).
  virtual bool NextChunk(uint64_t max_bytes,
                         internal::SnapshotChunk* chunk) = 0;
  // Once NextChunk() returned false: OK when the image is complete, else
  // the read error that ended it (the stream must then be abandoned).
  virtual Status status() const = 0;
};

class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status Add(const internal::SnapshotChunk& chunk) = 0;
  // Makes the image the state machine's, with `state` as applied state.
  // The stream carries the source's applied state too: its clock is used
  // when larger than state.clock_ms, its addresses when state has none, so
  // a caller that only knows the SnapshotMeta may pass {index, term, conf}.
  virtual Status Finish(const AppliedState& state) = 0;
};

}  // namespace shardkv::storage
