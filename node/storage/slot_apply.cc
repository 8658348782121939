// Slot commands: the per-slot state machine of docs/sharding.md, applied
// deterministically; each step is idempotent for its migration id (a
// repeat is a no-op answered with the slot's state), and a step that does
// not fit the slot's state is kFailedPrecondition naming the state.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "common/slot.h"
#include "node/storage/applier.h"
#include "node/storage/encoding.h"

namespace shardkv::storage {
namespace {

constexpr uint32_t kPrefixCount = 65536;

// The slots a migration step names: its batch, or its one slot.
template <typename Command>
std::vector<uint32_t> CommandSlots(const Command& command) {
  if (command.slots().empty()) return {command.slot()};
  return {command.slots().begin(), command.slots().end()};
}

std::string Describe(uint32_t slot, SlotEntry entry) {
  std::string out =
      "slot " + std::to_string(slot) + " is " + SlotStateName(entry.state);
  if (entry.migration_id != 0) {
    out += " (migration " + std::to_string(entry.migration_id) + ")";
  }
  return out;
}

}  // namespace

SlotEntry Applier::Entry(uint32_t slot) const {
  auto it = changed_entries_.find(slot);
  if (it != changed_entries_.end()) return it->second;
  return core_->slots.Get(slot);
}

void Applier::SetEntry(uint32_t slot, SlotEntry entry) {
  changed_entries_[slot] = entry;
}

void Applier::RaiseEpoch(uint64_t epoch) {
  if (epoch > config_.epoch) {
    config_.epoch = epoch;
    config_changed_ = true;
  }
}

SlotRejection Applier::CheckKey(std::string_view key) const {
  SlotRejection verdict;
  if (!config_.sharded) return verdict;
  verdict.slot = KeyPrefix(key) % config_.slot_count;
  verdict.epoch = config_.epoch;
  switch (Entry(verdict.slot).state) {
    case SlotState::kOwned:
    case SlotState::kExporting:
      break;
    case SlotState::kImporting:
    case SlotState::kFrozen:
      verdict.reason = Rejection::kSlotMigrating;
      break;
    case SlotState::kNotOwned:
      verdict.reason = Rejection::kWrongShard;
      break;
  }
  return verdict;
}

void Applier::RecordChange(std::string_view key) {
  if (!config_.sharded) return;
  const uint32_t slot = KeyPrefix(key) % config_.slot_count;
  if (Entry(slot).state != SlotState::kExporting) return;
  batch_.Put(Column::kSlots, ChangeKey(slot, key), BigEndianKey(entry_index_));
}

void Applier::DropSlotData(uint32_t slot) {
  dropped_ = true;
  ingest_.MarkWritten(slot);
  for (const KeyRange& range : SlotRanges(slot, config_.slot_count)) {
    batch_.DeleteRange(Column::kData, range.begin, range.end);
  }
}

bool Applier::SlotHasKeys(uint32_t slot) {
  // What this batch wrote of the slot is not in the DB yet: every way a
  // batch writes a slot that can then be freshly imported goes through
  // DropSlotData (Release, Abort) or an import, which mark it.
  if (ingest_.Written(slot) || ingest_.pending()) return true;
  // The slot's keys are those whose 2-byte prefix p has p % slot_count ==
  // slot (slots.h). One iterator leaps from each key it finds to the
  // slot's next prefix: one seek on an empty shard, and never an iterator
  // per prefix (4096 of them with 16 slots, on the apply thread).
  constexpr uint32_t kPrefixes = 65536;
  const uint32_t count = config_.slot_count;
  const std::vector<KeyRange> ranges = SlotRanges(slot, count);
  // Bounded: a Seek must not walk on past the slot's last prefix.
  rocksdb::Slice end(ranges.back().end);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.iterate_upper_bound = &end;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(ro, engine_->cf(Column::kData)));
  it->Seek(ranges.front().begin);
  while (it->Valid()) {
    if (it->key().size() < 2) return true;  // not a data key: be safe
    const uint32_t prefix = DataKeyPrefix(it->key().ToStringView());
    if (count <= 1 || prefix % count == slot) return true;
    const uint32_t next = prefix + (slot + count - prefix % count) % count;
    if (next >= kPrefixes) return false;
    it->Seek(PrefixRange(next, next).begin);
  }
  return !it->status().ok();
}

void Applier::DropChangeSet(uint32_t slot) {
  dropped_ = true;
  batch_.DeleteRange(Column::kSlots, ChangeKeyPrefix(slot),
                     ChangeKeyPrefix(slot + 1));
}

ApplyResult Applier::SlotAnswer(uint32_t slot) const {
  ApplyResult result;
  result.slot_state = Entry(slot).state;
  result.epoch = config_.epoch;
  return result;
}

ApplyResult Applier::Misfit(uint32_t slot, const std::string& step,
                            uint64_t migration_id) const {
  ApplyResult result = SlotAnswer(slot);
  result.status = FailedPrecondition(
      Describe(slot, Entry(slot)) + "; " + step + " of migration " +
      std::to_string(migration_id) + " does not fit");
  return result;
}

ApplyResult Applier::ApplySlotCommand(const internal::SlotCommand& command,
                                      Status* error) {
  using C = internal::SlotCommand;
  std::vector<uint32_t> slots;
  switch (command.op_case()) {
    case C::kAssign:
      return Assign(command.assign(), error);
    case C::kBeginImport:
      // Checks the slots itself: it may be what makes the shard sharded.
      return ForEachSlot(
          CommandSlots(command.begin_import()), error, [&](uint32_t slot) {
            return BeginImport(slot, command.begin_import(), error);
          });
    case C::kBeginExport:
      slots = CommandSlots(command.begin_export());
      break;
    case C::kImportRecords:
      slots = CommandSlots(command.import_records());
      break;
    case C::kFreeze:
      slots = CommandSlots(command.freeze());
      break;
    case C::kActivate:
      slots = CommandSlots(command.activate());
      break;
    case C::kRelease:
      slots = CommandSlots(command.release());
      break;
    case C::kAbort:
      slots = CommandSlots(command.abort());
      break;
    default: {
      ApplyResult result;
      result.status = InvalidArgument("slot command without an operation");
      return result;
    }
  }
  ApplyResult result;
  if (!config_.sharded) {
    result.status = FailedPrecondition(
        "this shard is unsharded (no AssignSlots or BeginImport yet)");
    return result;
  }
  for (uint32_t slot : slots) {
    if (slot >= config_.slot_count) {
      result.status = InvalidArgument("slot " + std::to_string(slot) +
                                      " out of range (slot count " +
                                      std::to_string(config_.slot_count) + ")");
      return result;
    }
  }
  switch (command.op_case()) {
    case C::kBeginExport:
      return ForEachSlot(slots, error, [&](uint32_t slot) {
        return BeginExport(slot, command.begin_export());
      });
    case C::kImportRecords:
      return Import(slots, command.import_records(), error);
    case C::kFreeze:
      return ForEachSlot(slots, error, [&](uint32_t slot) {
        return Freeze(slot, command.freeze());
      });
    case C::kActivate:
      return ForEachSlot(slots, error, [&](uint32_t slot) {
        return Activate(slot, command.activate());
      });
    case C::kRelease:
      return ForEachSlot(slots, error, [&](uint32_t slot) {
        return Release(slot, command.release());
      });
    case C::kAbort:
      return ForEachSlot(slots, error, [&](uint32_t slot) {
        return Abort(slot, command.abort());
      });
    default:
      return result;
  }
}

ApplyResult Applier::ForEachSlot(
    const std::vector<uint32_t>& slots, Status* error,
    const std::function<ApplyResult(uint32_t)>& step) {
  ApplyResult result;
  for (uint32_t slot : slots) {
    result = step(slot);
    // The slots before stay done: each step is idempotent per slot, so
    // the caller's retry of the whole command redoes only the rest.
    if (!result.status.ok() || !error->ok()) return result;
  }
  return result;
}

Status Applier::CheckNoDataOutside(const std::vector<bool>& slots,
                                   uint32_t slot_count) {
  std::unique_ptr<rocksdb::Iterator> it = batch_.NewIterator(Column::kData);
  uint32_t p = 0;
  while (p < kPrefixCount) {
    if (slots[p % slot_count]) {
      ++p;
      continue;
    }
    uint32_t last = p;
    while (last + 1 < kPrefixCount && !slots[(last + 1) % slot_count]) ++last;
    KeyRange range = PrefixRange(p, last);
    for (it->Seek(range.begin); it->Valid() && it->key().compare(range.end) < 0;
         it->Next()) {
      ValueRecord record;
      if (!DecodeValueRecord(it->value().ToStringView(), &record)) {
        return DataLoss("corrupt state machine record: value of a key");
      }
      if (record.ExpiredAt(state_.clock_ms)) continue;
      const uint32_t slot =
          DataKeyPrefix(it->key().ToStringView()) % slot_count;
      return FailedPrecondition(
          "this shard holds keys of slot " + std::to_string(slot) +
          " (e.g. \"" + std::string(UserKey(it->key().ToStringView())) +
          "\") that the command does not give it; assign every slot that "
          "holds data");
    }
    SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "scanning for data"));
    p = last + 1;
  }
  return Status::Ok();
}

ApplyResult Applier::Assign(const internal::AssignSlots& cmd, Status* error) {
  ApplyResult result;
  const uint32_t count = cmd.slot_count();
  if (!ValidSlotCount(count)) {
    result.status = InvalidArgument("slot count " + std::to_string(count) +
                                    " is not a power of two in [1, 65536]");
    return result;
  }
  if (config_.sharded && config_.slot_count != count) {
    result.status = FailedPrecondition("this shard uses slot count " +
                                       std::to_string(config_.slot_count) +
                                       ", not " + std::to_string(count));
    return result;
  }
  std::vector<bool> assigned(count, false);
  for (uint32_t slot : cmd.slots()) {
    if (slot >= count) {
      result.status =
          InvalidArgument("slot " + std::to_string(slot) + " out of range");
      return result;
    }
    assigned[slot] = true;
  }
  if (config_.sharded) {
    for (uint32_t slot : cmd.slots()) {
      SlotEntry e = Entry(slot);
      if (e.state != SlotState::kOwned && e.state != SlotState::kNotOwned) {
        result.status = FailedPrecondition(Describe(slot, e) +
                                           "; AssignSlots does not fit");
        return result;
      }
    }
  } else {
    // An unsharded shard keeps its data: it must be in assigned slots.
    result.status = CheckNoDataOutside(assigned, count);
    if (result.status.code() == Code::kDataLoss) {
      *error = result.status;
      return result;
    }
    if (!result.status.ok()) return result;
    config_.sharded = true;
    config_.slot_count = count;
    config_changed_ = true;
  }
  for (uint32_t slot : cmd.slots()) {
    SlotEntry e = Entry(slot);
    if (e.state == SlotState::kNotOwned) SetEntry(slot, {SlotState::kOwned, 0});
  }
  RaiseEpoch(cmd.epoch());
  result.epoch = config_.epoch;
  result.slot_state = SlotState::kOwned;
  return result;
}

ApplyResult Applier::BeginImport(uint32_t slot,
                                 const internal::BeginImport& cmd,
                                 Status* error) {
  ApplyResult result;
  const uint64_t id = cmd.migration_id();
  if (id == 0) {
    result.status = InvalidArgument("migration id 0");
    return result;
  }
  if (!config_.sharded) {
    if (!ValidSlotCount(cmd.slot_count()) || slot >= cmd.slot_count()) {
      result.status = InvalidArgument("bad slot count or slot");
      return result;
    }
    result.status = CheckNoDataOutside(
        std::vector<bool>(cmd.slot_count(), false), cmd.slot_count());
    if (result.status.code() == Code::kDataLoss) *error = result.status;
    if (!result.status.ok()) return result;
    config_.sharded = true;
    config_.slot_count = cmd.slot_count();
    config_changed_ = true;
  } else if (cmd.slot_count() != 0 && cmd.slot_count() != config_.slot_count) {
    result.status = FailedPrecondition(
        "this shard uses slot count " + std::to_string(config_.slot_count) +
        ", not " + std::to_string(cmd.slot_count()));
    return result;
  } else if (slot >= config_.slot_count) {
    result.status = InvalidArgument("slot out of range");
    return result;
  }
  const SlotEntry e = Entry(slot);
  const bool fresh =
      (e.state == SlotState::kNotOwned && e.migration_id != id) ||
      (e.state == SlotState::kImporting && e.migration_id < id);
  const bool repeat =
      (e.state == SlotState::kImporting || e.state == SlotState::kOwned) &&
      e.migration_id == id;
  if (!fresh && !repeat) return Misfit(slot, "BeginImport", id);
  if (fresh) {
    // Leftovers of an older, abandoned attempt. No range deletion when
    // there is nothing to drop (a shard that never held the slot): it
    // would overlap every file the bulk imports then ingest, which RocksDB
    // must then place in level 0 and compact, instead of the last level.
    if (SlotHasKeys(slot)) DropSlotData(slot);
    DropChangeSet(slot);
    SetEntry(slot, {SlotState::kImporting, id});
  }
  RaiseEpoch(cmd.epoch());
  return SlotAnswer(slot);
}

ApplyResult Applier::BeginExport(uint32_t slot,
                                 const internal::BeginExport& cmd) {
  const uint64_t id = cmd.migration_id();
  const SlotEntry e = Entry(slot);
  if (id == 0) return Misfit(slot, "BeginExport", id);
  if (e.state == SlotState::kOwned && e.migration_id != id) {
    DropChangeSet(slot);
    SetEntry(slot, {SlotState::kExporting, id});
  } else if (e.migration_id != id || (e.state != SlotState::kExporting &&
                                      e.state != SlotState::kFrozen &&
                                      e.state != SlotState::kNotOwned)) {
    // OWNED with this id: the export was aborted.
    return Misfit(slot, "BeginExport", id);
  }
  RaiseEpoch(cmd.epoch());
  return SlotAnswer(slot);
}

ApplyResult Applier::Import(const std::vector<uint32_t>& slots,
                            const internal::ImportRecords& cmd, Status* error) {
  // Which of the slots take records: IMPORTING ones. Activated already
  // (OWNED for this migration): a late repeat must not overwrite newer
  // writes, so that slot's records are skipped.
  std::map<uint32_t, bool> importing;
  for (uint32_t slot : slots) {
    const SlotEntry e = Entry(slot);
    if (e.migration_id != cmd.migration_id() ||
        (e.state != SlotState::kImporting && e.state != SlotState::kOwned)) {
      return Misfit(slot, "ImportRecords", cmd.migration_id());
    }
    importing[slot] = e.state == SlotState::kImporting;
  }
  const uint32_t first = slots.front();
  bool any = false;
  for (const auto& [slot, takes] : importing) any = any || takes;
  if (!any) return SlotAnswer(first);
  for (const internal::SlotRecord& r : cmd.records()) {
    const uint32_t slot = r.key().empty()
                              ? config_.slot_count
                              : KeyPrefix(r.key()) % config_.slot_count;
    if (r.key().empty() || r.key().size() > kMaxStoredKeyBytes ||
        importing.count(slot) == 0) {
      ApplyResult result = SlotAnswer(first);
      result.status = InvalidArgument(
          "record key \"" + r.key() + "\" is not of slot " +
          std::to_string(first) +
          (slots.size() > 1
               ? " or the other " + std::to_string(slots.size() - 1)
               : std::string()) +
          " of the command");
      return result;
    }
  }
  auto takes = [&](const internal::SlotRecord& r) {
    return importing[KeyPrefix(r.key()) % config_.slot_count];
  };
  // A bulk chunk goes into a file ingested before this batch is written
  // (slot_ingest.h), unless this batch already wrote one of its slots.
  uint64_t record_bytes = 0;
  for (const internal::SlotRecord& r : cmd.records()) {
    record_bytes += r.key().size() + r.value().size();
  }
  bool ingest = record_bytes >= kIngestMinBytes;
  for (const auto& [slot, takes_records] : importing) {
    if (takes_records && ingest_.Written(slot)) ingest = false;
  }
  if (ingest) {
    *error = ingest_.Add(cmd.records(), takes, entry_index_);
    if (!error->ok()) return SlotAnswer(first);
    // As after a drop (applier.h): later entries must not read these keys
    // through this batch, which does not see the file; commit after this
    // entry.
    dropped_ = true;
  } else {
    for (const internal::SlotRecord& r : cmd.records()) {
      if (!takes(r)) continue;
      if (r.deleted()) {
        batch_.Delete(Column::kData, DataKey(r.key()));
      } else {
        batch_.PutValueRecord(DataKey(r.key()), r.version(), r.expire_at_ms(),
                              r.value());
      }
    }
    for (const auto& [slot, takes_records] : importing) {
      if (takes_records) ingest_.MarkWritten(slot);
    }
  }
  *error = MergeSessions(cmd);
  return SlotAnswer(first);
}

Status Applier::MergeSessions(const internal::ImportRecords& cmd) {
  for (const internal::SessionRecord& r : cmd.sessions()) {
    Session incoming;
    if (r.client_id() == 0 || !DecodeSession(r.stored(), &incoming)) {
      // Deterministic on every replica: skip what cannot be a session.
      continue;
    }
    Session current;
    bool found = false;
    SHARDKV_RETURN_IF_ERROR(ReadSession(r.client_id(), &found, &current));
    if (found && current.last_sequence >= incoming.last_sequence) continue;
    WriteSession(r.client_id(), found, current, incoming);
  }
  return Status::Ok();
}

ApplyResult Applier::Freeze(uint32_t slot, const internal::FreezeSlot& cmd) {
  const SlotEntry e = Entry(slot);
  if (e.migration_id == cmd.migration_id() && e.migration_id != 0) {
    if (e.state == SlotState::kExporting) {
      SetEntry(slot, {SlotState::kFrozen, e.migration_id});
      return SlotAnswer(slot);
    }
    if (e.state == SlotState::kFrozen || e.state == SlotState::kNotOwned) {
      return SlotAnswer(slot);  // repeated (or released already)
    }
  }
  return Misfit(slot, "Freeze", cmd.migration_id());
}

ApplyResult Applier::Activate(uint32_t slot,
                              const internal::ActivateSlot& cmd) {
  const SlotEntry e = Entry(slot);
  if (e.migration_id != cmd.migration_id() || e.migration_id == 0 ||
      (e.state != SlotState::kImporting && e.state != SlotState::kOwned)) {
    return Misfit(slot, "Activate", cmd.migration_id());
  }
  if (e.state == SlotState::kImporting) {
    SetEntry(slot, {SlotState::kOwned, e.migration_id});
  }
  RaiseEpoch(cmd.epoch());
  return SlotAnswer(slot);
}

ApplyResult Applier::Release(uint32_t slot, const internal::ReleaseSlot& cmd) {
  const SlotEntry e = Entry(slot);
  if (e.migration_id != cmd.migration_id() || e.migration_id == 0 ||
      (e.state != SlotState::kFrozen && e.state != SlotState::kNotOwned)) {
    return Misfit(slot, "Release", cmd.migration_id());
  }
  if (e.state == SlotState::kFrozen) {
    DropSlotData(slot);
    DropChangeSet(slot);
    SetEntry(slot, {SlotState::kNotOwned, e.migration_id});
  }
  RaiseEpoch(cmd.epoch());
  return SlotAnswer(slot);
}

ApplyResult Applier::Abort(uint32_t slot, const internal::AbortMigration& cmd) {
  const SlotEntry e = Entry(slot);
  const uint64_t id = cmd.migration_id();
  if (id == 0) return Misfit(slot, "Abort", id);
  if (e.migration_id == id && e.state == SlotState::kExporting) {
    DropChangeSet(slot);
    SetEntry(slot, {SlotState::kOwned, id});
  } else if (e.migration_id == id && e.state == SlotState::kImporting) {
    DropSlotData(slot);
    DropChangeSet(slot);
    SetEntry(slot, {SlotState::kNotOwned, id});
  } else if (e.state == SlotState::kFrozen ||
             (e.migration_id != id && e.state != SlotState::kOwned &&
              e.state != SlotState::kNotOwned)) {
    // Past the freeze, or the slot is busy with another migration.
    return Misfit(slot, "Abort", id);
  }
  // Otherwise aborted already, or this side never began `id`: nothing to
  // undo.
  RaiseEpoch(cmd.epoch());
  return SlotAnswer(slot);
}

}  // namespace shardkv::storage
