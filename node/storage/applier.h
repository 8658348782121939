// Applier: applies committed entries into one ApplyBatch (apply_batch.h);
// later commands of the same batch read what earlier ones wrote, from the
// overlay of staged records and sessions or, once a slot command ran,
// through the batch's index. Commit() writes the batch with the new applied
// state. Internal to node/storage.
//
// Key-value commands are in applier.cc, slot commands (ownership and
// migration, docs/sharding.md) in slot_apply.cc. Every Set/Delete is
// checked against the slot table first: a rejected command touches
// neither data nor its client's session.
//
// Dropping a slot's data uses DeleteRange, which the batch's index does not
// see: it is appended to the underlying batch in order, so RocksDB applies
// it between the commands around it, but a later read through the batch
// would still find the dropped records in the DB. Within one entry no
// command reads the slot after a drop (the slot is NOT_OWNED or freshly
// IMPORTING: writes are refused, imports only write), but a later entry can
// (Activate, then a Set). So the caller commits after an entry that
// dropped() data and starts a new Applier: otherwise a replica applying
// many entries in one batch (catching up) would compute versions from
// dropped records while the leader, applying them in separate batches,
// would not -- the replicas would diverge.
//
// Reads of records and sessions go through the staged overlay and the
// core's ApplyCache (apply_cache.h) while no slot command ran in this
// batch; a miss of both reads RocksDB, which then has none of this batch's
// writes of that key (every Set/Delete/session write is staged). The
// session sweep's expiry index is the one range read: its writes in this
// batch are kept in session_index_ for it.
//
// Thread-safety: one Applier at a time, under the core's write_mu.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "node/storage/apply_batch.h"
#include "node/storage/apply_cache.h"
#include "node/storage/records.h"
#include "node/storage/slot_ingest.h"
#include "node/storage/slots.h"
#include "node/storage/state_machine_core.h"

namespace shardkv::storage {

class Applier {
 public:
  Applier(StateMachineCore* core, AppliedState state);

  Status ApplyEntry(const raft::Entry& entry, std::vector<ApplyResult>* out);
  Status ApplyConfChange(const raft::Entry& entry,
                         const raft::ConfChange& change,
                         const raft::ConfState& conf);
  // Writes everything with the new applied state (not synced) and
  // publishes slot changes to the core's table.
  Status Commit();
  const AppliedState& state() const { return state_; }
  // A slot's data or change set was dropped (DeleteRange) in this batch.
  bool dropped() const { return dropped_; }

 private:
  ApplyResult ApplyCommand(const internal::Command& command, Status* error);
  ApplyResult ApplySet(const internal::SetCommand& set, Status* error);
  ApplyResult ApplyDelete(const internal::DeleteCommand& del, Status* error);
  // The key's record as this batch sees it: from the staged overlay, the
  // core's cache, or (on a miss, or once the cache is off) RocksDB through
  // the batch.
  CachedRecord ReadRecord(const std::string& data_key, Status* error);
  // Stages what a Set/Delete wrote, for later reads and the cache.
  void StageRecord(const std::string& data_key, const CachedRecord& record);
  Status ReadSession(uint64_t client_id, bool* found, Session* session);
  void WriteSession(uint64_t client_id, bool had_session,
                    const Session& old_session, const Session& session);
  void WriteSessionIndex(const std::string& key, bool put);
  Status SweepSessions();
  // Up to `limit` keys of the sessions' expiry index, in key order, of
  // sessions idle since before the applied clock allows.
  Status FindExpiredSessions(size_t limit, std::vector<std::string>* keys);
  // The unindexed batch's share of the scan: merges the DB's index keys
  // with session_index_.
  Status FindExpiredUnindexed(size_t limit, std::vector<std::string>* keys);
  bool IndexExpired(std::string_view key) const;
  // After the batch is written: the staged overlay into the core's cache,
  // or the cache cleared when a slot command ran.
  void PublishCache();

  // slot_apply.cc
  ApplyResult ApplySlotCommand(const internal::SlotCommand& command,
                               Status* error);
  ApplyResult Assign(const internal::AssignSlots& cmd, Status* error);
  // A step of a batch (its `slots`) runs for each slot in order, as one
  // command, and stops at the first slot it does not fit.
  ApplyResult ForEachSlot(const std::vector<uint32_t>& slots, Status* error,
                          const std::function<ApplyResult(uint32_t)>& step);
  ApplyResult BeginImport(uint32_t slot, const internal::BeginImport& cmd,
                          Status* error);
  ApplyResult BeginExport(uint32_t slot, const internal::BeginExport& cmd);
  ApplyResult Import(const std::vector<uint32_t>& slots,
                     const internal::ImportRecords& cmd, Status* error);
  ApplyResult Freeze(uint32_t slot, const internal::FreezeSlot& cmd);
  ApplyResult Activate(uint32_t slot, const internal::ActivateSlot& cmd);
  ApplyResult Release(uint32_t slot, const internal::ReleaseSlot& cmd);
  ApplyResult Abort(uint32_t slot, const internal::AbortMigration& cmd);
  Status MergeSessions(const internal::ImportRecords& cmd);
  // kFailedPrecondition unless no live key outside `slots` exists.
  Status CheckNoDataOutside(const std::vector<bool>& slots,
                            uint32_t slot_count);
  // The slot check of a key (kNone while unsharded).
  SlotRejection CheckKey(std::string_view key) const;
  // Records key -> current index when its slot is EXPORTING.
  void RecordChange(std::string_view key);
  SlotEntry Entry(uint32_t slot) const;
  void SetEntry(uint32_t slot, SlotEntry entry);
  void RaiseEpoch(uint64_t epoch);
  void DropSlotData(uint32_t slot);
  // Any record (live or expired) of the slot in the DB or written by this
  // batch (conservative: true when unsure).
  bool SlotHasKeys(uint32_t slot);
  void DropChangeSet(uint32_t slot);
  // The answer of a slot command: the slot's state and the epoch now.
  ApplyResult SlotAnswer(uint32_t slot) const;
  ApplyResult Misfit(uint32_t slot, const std::string& step,
                     uint64_t migration_id) const;

  StateMachineCore* const core_;
  Engine* const engine_;
  ApplyBatch batch_;
  // What this batch read and wrote of records and sessions, published to
  // core_->apply_cache at Commit() (apply_cache.h).
  ApplyCache::Overlay staged_;
  // Set by a slot command: it may write data or sessions behind the
  // overlay's back (import, DeleteRange, merged sessions), so from then on
  // reads go through the batch and Commit() clears the cache.
  bool cache_off_ = false;
  // Expiry index keys this batch wrote (true) or deleted (false), while the
  // batch is not indexed.
  std::map<std::string, bool> session_index_;
  AppliedState state_;
  raft::Index entry_index_ = 0;  // the entry being applied
  // Slot changes of this batch, published to core_->slots at Commit().
  SlotConfig config_;
  bool config_changed_ = false;
  bool dropped_ = false;
  std::map<uint32_t, SlotEntry> changed_entries_;
  // Bulk imports written as files, ingested by Commit() before the batch
  // (slot_ingest.h).
  SlotIngest ingest_{engine_};
};

}  // namespace shardkv::storage
