#include "node/storage/slot_export.h"

#include <algorithm>
#include <utility>

#include "node/storage/encoding.h"
#include "node/storage/records.h"
#include "node/storage/slot_ingest.h"
#include "node/storage/slots.h"

namespace shardkv::storage {
namespace {

// Sorts the ranges and joins touching or overlapping ones: a batch of
// neighbouring slots then scans as a few long ranges, not one seek per
// slot and prefix.
void MergeAdjacent(std::vector<KeyRange>* ranges) {
  std::sort(
      ranges->begin(), ranges->end(),
      [](const KeyRange& a, const KeyRange& b) { return a.begin < b.begin; });
  std::vector<KeyRange> merged;
  for (KeyRange& r : *ranges) {
    if (!merged.empty() && r.begin <= merged.back().end) {
      // Touching (or, for a slot named twice, the same): one range.
      if (merged.back().end < r.end) merged.back().end = std::move(r.end);
    } else {
      merged.push_back(std::move(r));
    }
  }
  *ranges = std::move(merged);
}

class RocksSlotExport : public SlotExport {
 public:
  RocksSlotExport(Engine* engine, std::vector<uint32_t> slots,
                  uint64_t after_index)
      : engine_(engine),
        snapshot_(engine->db()->GetSnapshot()),
        slots_(std::move(slots)),
        after_index_(after_index) {}

  ~RocksSlotExport() override {
    iterator_.reset();
    engine_->db()->ReleaseSnapshot(snapshot_);
  }

  // Reads the image's applied state, slot entry and change set.
  Status Open(uint64_t migration_id) {
    rocksdb::ReadOptions ro = Options();
    std::string value;
    rocksdb::Status s =
        engine_->db()->Get(ro, engine_->cf(Column::kMeta), kAppliedKey, &value);
    if (s.ok() && !DecodeAppliedState(value, &applied_)) {
      return DataLoss("corrupt applied state");
    }
    if (!s.ok() && !s.IsNotFound()) {
      return FromRocks(s, "reading the applied state");
    }
    SlotTable table;
    SHARDKV_RETURN_IF_ERROR(LoadSlotTable(
        engine_->db(), engine_->cf(Column::kSlots), snapshot_, &table));
    if (slots_.empty()) return InvalidArgument("an export of no slot");
    frozen_ = true;
    for (uint32_t slot : slots_) {
      const SlotEntry entry = table.Get(slot);
      if (!table.config.sharded || slot >= table.config.slot_count ||
          entry.migration_id != migration_id ||
          (entry.state != SlotState::kExporting &&
           entry.state != SlotState::kFrozen)) {
        return FailedPrecondition(
            "slot " + std::to_string(slot) + " is " +
            SlotStateName(entry.state) + " (migration " +
            std::to_string(entry.migration_id) + ") at applied index " +
            std::to_string(applied_.index) + "; exporting migration " +
            std::to_string(migration_id) + " needs EXPORTING or FROZEN");
      }
      frozen_ = frozen_ && entry.state == SlotState::kFrozen;
    }
    if (after_index_ == 0) {
      for (uint32_t slot : slots_) {
        for (KeyRange& r : SlotRanges(slot, table.config.slot_count)) {
          ranges_.push_back(std::move(r));
        }
      }
      MergeAdjacent(&ranges_);
    }
    std::unique_ptr<rocksdb::Iterator> it(
        engine_->db()->NewIterator(ro, engine_->cf(Column::kSlots)));
    for (uint32_t slot : slots_) {
      const std::string prefix = ChangeKeyPrefix(slot);
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
           it->Next()) {
        if (it->value().size() != 8) return DataLoss("corrupt change record");
        if (DecodeBigEndian(it->value().ToStringView()) <= after_index_) {
          continue;
        }
        changed_.emplace_back(it->key().ToStringView().substr(prefix.size()));
      }
      SHARDKV_RETURN_IF_ERROR(
          FromRocks(it->status(), "reading the change set"));
    }
    return Status::Ok();
  }

  uint64_t as_of_index() const override { return applied_.index; }
  bool frozen() const override { return frozen_; }
  uint64_t changed_keys() const override { return changed_.size(); }
  Status status() const override { return status_; }

  bool NextChunk(uint64_t max_bytes, internal::ExportChunk* chunk) override {
    chunk->Clear();
    if (!status_.ok() || done_) return false;
    chunk->set_as_of_index(applied_.index);
    chunk->set_frozen(frozen_);
    if (first_) chunk->set_changed_keys(changed_.size());
    Budget budget{max_bytes, 0, chunk};
    while (status_.ok()) {
      bool more_room = true;
      if (range_ < ranges_.size()) {
        more_room = ScanRange(&budget);
        // A chunk big enough for the target to ingest as one file
        // (slot_ingest.h) ends with its key range: a file spanning the gap
        // to the next range would overlap the other batches' files there,
        // which RocksDB must then place above them and compact. Smaller
        // chunks go on (with many small ranges, e.g. few slots, cutting
        // would make an import per handful of records).
        if (more_room && range_ < ranges_.size() &&
            budget.used >= kIngestMinBytes) {
          break;
        }
      } else if (next_changed_ < changed_.size()) {
        more_room = AddChanged(changed_[next_changed_], &budget);
        if (more_room) ++next_changed_;
      } else if (frozen_ && !sessions_done_) {
        more_room = AddSessions(&budget);
      } else {
        done_ = true;
        break;
      }
      if (!more_room) break;
    }
    if (!status_.ok()) return false;
    const bool any = chunk->records_size() > 0 || chunk->sessions_size() > 0;
    const bool send = any || first_;
    first_ = false;
    return send;
  }

 private:
  // Bytes used in the chunk being filled; a chunk takes at least one item.
  struct Budget {
    uint64_t max = 0;
    uint64_t used = 0;
    internal::ExportChunk* chunk = nullptr;

    bool Fits(uint64_t size) const {
      return (chunk->records_size() == 0 && chunk->sessions_size() == 0) ||
             used + size <= max;
    }
  };

  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    ro.fill_cache = false;
    return ro;
  }

  static uint64_t RecordSize(std::string_view key, const ValueRecord& record) {
    return key.size() + record.value.size() + 24;
  }

  // Appends live records of the current range; false when the chunk is
  // full (the range resumes next time), true when the range is done.
  bool ScanRange(Budget* budget) {
    const KeyRange& range = ranges_[range_];
    if (!iterator_) {
      // Bounded: without an upper bound, a Seek into an empty range walks
      // on over whatever follows it, e.g. the range deletions that
      // released slots leave behind (seconds per round on such a shard).
      upper_bound_ = rocksdb::Slice(range.end);
      rocksdb::ReadOptions ro = Options();
      ro.iterate_upper_bound = &upper_bound_;
      iterator_.reset(
          engine_->db()->NewIterator(ro, engine_->cf(Column::kData)));
      iterator_->Seek(range.begin);
    }
    for (; iterator_->Valid() && iterator_->key().compare(range.end) < 0;
         iterator_->Next()) {
      ValueRecord record;
      if (!DecodeValueRecord(iterator_->value().ToStringView(), &record)) {
        status_ = DataLoss("corrupt value record in the export image");
        return false;
      }
      if (record.ExpiredAt(applied_.clock_ms)) continue;
      std::string_view key = UserKey(iterator_->key().ToStringView());
      if (!budget->Fits(RecordSize(key, record))) return false;
      AddRecord(key, record, budget);
    }
    if (!iterator_->status().ok()) {
      status_ = FromRocks(iterator_->status(), "reading the export image");
      return false;
    }
    iterator_.reset();
    ++range_;
    return true;
  }

  static void AddRecord(std::string_view key, const ValueRecord& record,
                        Budget* budget) {
    internal::SlotRecord* r = budget->chunk->add_records();
    r->set_key(std::string(key));
    r->set_value(std::string(record.value));
    r->set_version(record.version);
    r->set_expire_at_ms(record.expire_at_ms);
    budget->used += RecordSize(key, record);
  }

  // A change-set key: its record when present and live (skipped in round
  // 0, whose range scan sent it), else a tombstone. False when it does
  // not fit (or on error).
  bool AddChanged(const std::string& key, Budget* budget) {
    std::string value;
    rocksdb::Status s = engine_->db()->Get(
        Options(), engine_->cf(Column::kData), DataKey(key), &value);
    if (!s.ok() && !s.IsNotFound()) {
      status_ = FromRocks(s, "reading the export image");
      return false;
    }
    ValueRecord record;
    if (s.ok() && !DecodeValueRecord(value, &record)) {
      status_ = DataLoss("corrupt value record in the export image");
      return false;
    }
    if (s.ok() && !record.ExpiredAt(applied_.clock_ms)) {
      if (after_index_ == 0) return true;
      if (!budget->Fits(RecordSize(key, record))) return false;
      AddRecord(key, record, budget);
      return true;
    }
    if (!budget->Fits(key.size() + 8)) return false;
    internal::SlotRecord* r = budget->chunk->add_records();
    r->set_key(key);
    r->set_deleted(true);
    budget->used += key.size() + 8;
    return true;
  }

  // False when the chunk is full before the sessions are done.
  bool AddSessions(Budget* budget) {
    auto* cf = engine_->cf(Column::kSessions);
    if (!iterator_) {
      iterator_.reset(engine_->db()->NewIterator(Options(), cf));
      iterator_->Seek("c");
    }
    for (; iterator_->Valid() && iterator_->key().starts_with("c");
         iterator_->Next()) {
      if (iterator_->key().size() != 9) {
        status_ = DataLoss("corrupt session key in the export image");
        return false;
      }
      const uint64_t size = iterator_->value().size() + 16;
      if (!budget->Fits(size)) return false;
      internal::SessionRecord* r = budget->chunk->add_sessions();
      r->set_client_id(
          DecodeBigEndian(iterator_->key().ToStringView().substr(1)));
      r->set_stored(iterator_->value().ToString());
      budget->used += size;
    }
    if (!iterator_->status().ok()) {
      status_ = FromRocks(iterator_->status(), "reading sessions");
      return false;
    }
    iterator_.reset();
    sessions_done_ = true;
    return true;
  }

  Engine* const engine_;
  const rocksdb::Snapshot* const snapshot_;
  const std::vector<uint32_t> slots_;
  const uint64_t after_index_;
  AppliedState applied_;
  bool frozen_ = false;
  std::vector<KeyRange> ranges_;  // round 0 only, sorted, merged
  size_t range_ = 0;
  std::vector<std::string> changed_;  // user keys, index > after_index
  size_t next_changed_ = 0;
  bool sessions_done_ = false;
  bool first_ = true;
  bool done_ = false;
  rocksdb::Slice upper_bound_;  // of the open iterator; outlives it
  std::unique_ptr<rocksdb::Iterator> iterator_;
  Status status_;
};

}  // namespace

StatusOr<std::unique_ptr<SlotExport>> OpenSlotExport(
    Engine* engine, uint64_t migration_id, std::vector<uint32_t> slots,
    uint64_t after_index) {
  auto image =
      std::make_unique<RocksSlotExport>(engine, std::move(slots), after_index);
  SHARDKV_RETURN_IF_ERROR(image->Open(migration_id));
  return std::unique_ptr<SlotExport>(std::move(image));
}

}  // namespace shardkv::storage
