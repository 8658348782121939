#include "node/storage/state_machine.h"

#include <algorithm>

#include "node/storage/applier.h"
#include "node/storage/encoding.h"
#include "node/storage/records.h"
#include "node/storage/slot_export.h"
#include "node/storage/state_machine_core.h"

namespace shardkv::storage {
namespace {

// ReclaimExpired() looks at no more than this many records per unit of
// limit, and never more than kReclaimScanMax per call: it holds the writer
// mutex, so applies wait for it.
constexpr size_t kReclaimScanPerLimit = 16;
constexpr size_t kReclaimScanMax = 4096;
// Nor more than this many bytes of records per call: reading a record
// costs its size (the value decides whether it expired), and the replica
// calls this every second on its Raft loop. With 16 KiB values 4,096
// records were 64 MiB read per replica and second (17 % of the nodes' CPU
// and raft-loop stalls long enough for elections while a 1 GB shard moved,
// docs/benchmarks.md "Rebalance, session 8"); records of up to 1 KiB keep
// the record limit.
constexpr size_t kReclaimScanMaxBytes = 4 << 20;

Status Corrupt(const std::string& what) {
  return DataLoss("corrupt state machine record: " + what);
}

}  // namespace

class StateMachine::Impl {
 public:
  Impl(Engine* engine, CacheLimits limits)
      : core(engine, limits.records, limits.sessions) {}
  StateMachineCore core;
};

StateMachine::StateMachine(Engine* engine, CacheLimits cache_limits)
    : impl_(std::make_unique<Impl>(engine, cache_limits)) {}

StateMachine::~StateMachine() = default;

Status StateMachine::Load() {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  SHARDKV_RETURN_IF_ERROR(RemoveInterruptedInstall(*core.engine));
  std::string value;
  rocksdb::Status s = core.engine->db()->Get({}, core.engine->cf(Column::kMeta),
                                             kAppliedKey, &value);
  AppliedState state;
  if (s.ok()) {
    if (!DecodeAppliedState(value, &state)) return Corrupt("applied state");
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the applied state");
  }
  core.set_applied(state);
  core.reclaim_cursor.clear();
  core.apply_cache.Clear();
  return ReloadSlots(&core);
}

AppliedState StateMachine::applied() const { return impl_->core.applied(); }

StatusOr<raft::Index> StateMachine::DurableApplied() const {
  Engine* engine = impl_->core.engine;
  // kPersistedTier skips the memtables once a write without WAL was made
  // (and reads them before that, when all they hold came from the WAL).
  rocksdb::ReadOptions ro;
  ro.read_tier = rocksdb::kPersistedTier;
  std::string value;
  rocksdb::Status s =
      engine->db()->Get(ro, engine->cf(Column::kMeta), kAppliedKey, &value);
  if (s.IsNotFound()) return raft::Index{0};
  if (!s.ok()) return FromRocks(s, "reading the durable applied state");
  AppliedState state;
  if (!DecodeAppliedState(value, &state)) return Corrupt("applied state");
  return state.index;
}

Status StateMachine::ApplyEntry(const raft::Entry& entry,
                                std::vector<ApplyResult>* out) {
  std::vector<std::vector<ApplyResult>> results;
  SHARDKV_RETURN_IF_ERROR(ApplyEntries({entry}, &results));
  *out = std::move(results.front());
  return Status::Ok();
}

Status StateMachine::ApplyEntries(const std::vector<raft::Entry>& entries,
                                  std::vector<std::vector<ApplyResult>>* out) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  auto applier = std::make_unique<Applier>(&core, core.applied());
  out->assign(entries.size(), {});
  for (size_t i = 0; i < entries.size(); ++i) {
    SHARDKV_RETURN_IF_ERROR(applier->ApplyEntry(entries[i], &(*out)[i]));
    if (applier->dropped() && i + 1 < entries.size()) {
      // Later entries must read the DB without the dropped records (see
      // applier.h): commit up to here, with the applied index of this
      // entry, so a crash in between replays from the right place.
      SHARDKV_RETURN_IF_ERROR(applier->Commit());
      core.set_applied(applier->state());
      applier = std::make_unique<Applier>(&core, core.applied());
    }
  }
  SHARDKV_RETURN_IF_ERROR(applier->Commit());
  core.set_applied(applier->state());
  return Status::Ok();
}

Status StateMachine::ApplyConfChange(const raft::Entry& entry,
                                     const raft::ConfChange& change,
                                     const raft::ConfState& conf) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  Applier applier(&core, core.applied());
  SHARDKV_RETURN_IF_ERROR(applier.ApplyConfChange(entry, change, conf));
  SHARDKV_RETURN_IF_ERROR(applier.Commit());
  core.set_applied(applier.state());
  return Status::Ok();
}

Status StateMachine::Bootstrap(
    const raft::ConfState& conf,
    const std::map<raft::NodeId, std::string>& addresses) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  AppliedState state = core.applied();
  if (state.index != 0) {
    return FailedPrecondition("cannot bootstrap: entries were applied");
  }
  state.conf = conf;
  state.addresses = addresses;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status s =
      core.engine->db()->Put(sync, core.engine->cf(Column::kMeta), kAppliedKey,
                             EncodeAppliedState(state));
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "recording the initial membership"));
  core.set_applied(state);
  return Status::Ok();
}

StatusOr<ReadResult> StateMachine::Get(std::string_view key,
                                       int64_t now_ms) const {
  const StateMachineCore& core = impl_->core;
  Engine* engine = core.engine;
  ReadResult result;
  rocksdb::PinnableSlice value;
  rocksdb::Status s;
  {
    std::shared_lock<std::shared_mutex> lock(core.slots_mu);
    result.rejection = core.slots.Check(key);
    if (result.rejection.rejected()) return result;
    s = engine->db()->Get({}, engine->cf(Column::kData), DataKey(key), &value);
  }
  if (s.IsNotFound()) return result;
  if (!s.ok()) return FromRocks(s, "reading a key");
  ValueRecord record;
  if (!DecodeValueRecord(value.ToStringView(), &record)) {
    return Corrupt("value of a key");
  }
  if (record.ExpiredAt(now_ms)) return result;
  result.found = true;
  result.value.assign(record.value);
  result.version = record.version;
  result.expire_at_ms = record.expire_at_ms;
  return result;
}

SlotRejection StateMachine::CheckKey(std::string_view key) const {
  std::shared_lock<std::shared_mutex> lock(impl_->core.slots_mu);
  return impl_->core.slots.Check(key);
}

SlotTable StateMachine::Slots() const {
  std::shared_lock<std::shared_mutex> lock(impl_->core.slots_mu);
  return impl_->core.slots;
}

SlotConfig StateMachine::SlotSummary(uint32_t* owned_slots) const {
  std::shared_lock<std::shared_mutex> lock(impl_->core.slots_mu);
  *owned_slots = impl_->core.slots.OwnedCount();
  return impl_->core.slots.config;
}

StatusOr<std::unique_ptr<SlotExport>> StateMachine::ExportSlot(
    uint64_t migration_id, uint32_t slot, uint64_t after_index) const {
  return OpenSlotExport(impl_->core.engine, migration_id, {slot}, after_index);
}

StatusOr<std::unique_ptr<SlotExport>> StateMachine::ExportSlots(
    uint64_t migration_id, std::vector<uint32_t> slots,
    uint64_t after_index) const {
  return OpenSlotExport(impl_->core.engine, migration_id, std::move(slots),
                        after_index);
}

Status ReloadSlots(StateMachineCore* core) {
  SlotTable table;
  SHARDKV_RETURN_IF_ERROR(LoadSlotTable(
      core->engine->db(), core->engine->cf(Column::kSlots), nullptr, &table));
  std::unique_lock<std::shared_mutex> lock(core->slots_mu);
  core->slots = std::move(table);
  return Status::Ok();
}

StatusOr<size_t> StateMachine::ReclaimExpired(size_t limit) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  const int64_t clock = core.applied().clock_ms;
  auto* cf = core.engine->cf(Column::kData);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(core.engine->db()->NewIterator(ro, cf));
  rocksdb::WriteBatch batch;
  size_t reclaimed = 0;
  size_t budget = std::min(std::max<size_t>(limit, 1) * kReclaimScanPerLimit,
                           kReclaimScanMax);
  size_t bytes_left = kReclaimScanMaxBytes;
  it->Seek(core.reclaim_cursor);
  for (; it->Valid() && reclaimed < limit && budget > 0 && bytes_left > 0;
       it->Next(), --budget) {
    // At least one record per call, so the cursor always moves on.
    bytes_left -= std::min(bytes_left, it->key().size() + it->value().size());
    ValueRecord record;
    if (!DecodeValueRecord(it->value().ToStringView(), &record)) {
      return Corrupt("value of a key");
    }
    if (!record.ExpiredAt(clock)) continue;
    batch.Delete(cf, it->key());
    core.apply_cache.EraseRecord(it->key().ToString());
    ++reclaimed;
  }
  SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "scanning expired keys"));
  // Resume after the last key looked at; start over at the end.
  core.reclaim_cursor = it->Valid() ? it->key().ToString() : std::string();
  if (reclaimed > 0) {
    // Without WAL like the applies, so a crash keeps these deletes only
    // with the applies before them (a flush); lost ones are redone.
    rocksdb::Status s = core.engine->db()->Write(StateMachineWrites(), &batch);
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "deleting expired keys"));
  }
  return reclaimed;
}

uint64_t StateMachine::ApproximateKeys() const {
  Engine* engine = impl_->core.engine;
  uint64_t keys = 0;
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kEstimateNumKeys,
                               &keys);
  return keys;
}

uint64_t StateMachine::ApproximateBytes() const {
  Engine* engine = impl_->core.engine;
  uint64_t live = 0;
  uint64_t memtables = 0;
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kEstimateLiveDataSize,
                               &live);
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kCurSizeAllMemTables,
                               &memtables);
  return live + memtables;
}

std::unique_ptr<SnapshotSource> StateMachine::OpenSnapshot() const {
  return NewSnapshotSource(impl_->core.engine);
}

std::unique_ptr<SnapshotSink> StateMachine::BeginInstall() {
  return NewSnapshotSink(&impl_->core);
}

}  // namespace shardkv::storage
