#include "node/storage/slots.h"

#include <memory>

#include "common/slot.h"
#include "node/storage/encoding.h"
#include "node/storage/engine.h"

namespace shardkv::storage {
namespace {

constexpr uint32_t kPrefixCount = 65536;

std::string Prefix(uint32_t prefix) {
  std::string out(2, '\0');
  out[0] = static_cast<char>((prefix >> 8) & 0xff);
  out[1] = static_cast<char>(prefix & 0xff);
  return out;
}

// Above every data key of prefix 0xffff (keys are at most
// kMaxStoredKeyBytes long).
std::string EndOfLastPrefix() {
  return std::string(2 + kMaxStoredKeyBytes + 1, '\xff');
}

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

}  // namespace

const char* SlotStateName(SlotState state) {
  switch (state) {
    case SlotState::kNotOwned:
      return "NOT_OWNED";
    case SlotState::kOwned:
      return "OWNED";
    case SlotState::kExporting:
      return "EXPORTING";
    case SlotState::kFrozen:
      return "FROZEN";
    case SlotState::kImporting:
      return "IMPORTING";
  }
  return "UNKNOWN";
}

Status SlotRejection::ToStatus() const {
  switch (reason) {
    case Rejection::kNone:
      return Status::Ok();
    case Rejection::kWrongShard:
      return FailedPrecondition("slot " + std::to_string(slot) +
                                " is not owned by this shard (slot map epoch " +
                                std::to_string(epoch) +
                                "); refresh the map and retry at the owner");
    case Rejection::kSlotMigrating:
      return Unavailable("slot " + std::to_string(slot) +
                         " is being migrated; retry shortly");
  }
  return Status::Ok();
}

SlotRejection SlotTable::Check(std::string_view key) const {
  SlotRejection verdict;
  if (!config.sharded || config.slot_count == 0) return verdict;
  verdict.slot = KeyPrefix(key) % config.slot_count;
  verdict.epoch = config.epoch;
  switch (Get(verdict.slot).state) {
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

uint32_t SlotTable::OwnedCount() const {
  uint32_t owned = 0;
  for (const SlotEntry& e : entries) {
    owned += e.state == SlotState::kOwned || e.state == SlotState::kExporting ||
             e.state == SlotState::kFrozen;
  }
  return owned;
}

std::string DataKey(std::string_view key) {
  std::string out = Prefix(KeyPrefix(key));
  out.append(key);
  return out;
}

uint16_t DataKeyPrefix(std::string_view data_key) {
  return static_cast<uint16_t>((static_cast<unsigned char>(data_key[0]) << 8) |
                               static_cast<unsigned char>(data_key[1]));
}

KeyRange PrefixRange(uint32_t first, uint32_t last) {
  return KeyRange{Prefix(first), last + 1 >= kPrefixCount ? EndOfLastPrefix()
                                                          : Prefix(last + 1)};
}

std::vector<KeyRange> SlotRanges(uint32_t slot, uint32_t slot_count) {
  if (slot_count == 1) return {PrefixRange(0, kPrefixCount - 1)};
  std::vector<KeyRange> out;
  out.reserve(kPrefixCount / slot_count);
  for (uint32_t p = slot; p < kPrefixCount; p += slot_count) {
    out.push_back(PrefixRange(p, p));
  }
  return out;
}

std::string SlotEntryKey(uint32_t slot) { return "s" + BigEndian32(slot); }

std::string ChangeKeyPrefix(uint32_t slot) { return "x" + BigEndian32(slot); }

std::string ChangeKey(uint32_t slot, std::string_view key) {
  std::string out = ChangeKeyPrefix(slot);
  out.append(key);
  return out;
}

std::string EncodeSlotConfig(const SlotConfig& config) {
  std::string out;
  out.push_back(config.sharded ? 1 : 0);
  PutFixed32(&out, config.slot_count);
  PutFixed64(&out, config.epoch);
  return out;
}

bool DecodeSlotConfig(std::string_view in, SlotConfig* out) {
  Decoder d(in);
  uint8_t sharded = 0;
  if (!d.GetByte(&sharded) || !d.GetFixed32(&out->slot_count) ||
      !d.GetFixed64(&out->epoch) || !d.empty()) {
    return false;
  }
  out->sharded = sharded != 0;
  return !out->sharded || ValidSlotCount(out->slot_count);
}

std::string EncodeSlotEntry(const SlotEntry& entry) {
  std::string out;
  out.push_back(static_cast<char>(entry.state));
  PutFixed64(&out, entry.migration_id);
  return out;
}

bool DecodeSlotEntry(std::string_view in, SlotEntry* out) {
  Decoder d(in);
  uint8_t state = 0;
  if (!d.GetByte(&state) || !d.GetFixed64(&out->migration_id) || !d.empty() ||
      state > static_cast<uint8_t>(SlotState::kImporting)) {
    return false;
  }
  out->state = static_cast<SlotState>(state);
  return true;
}

Status LoadSlotTable(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* slots,
                     const rocksdb::Snapshot* snapshot, SlotTable* out) {
  *out = SlotTable{};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::string value;
  rocksdb::Status s = db->Get(ro, slots, kSlotConfigKey, &value);
  if (s.IsNotFound()) return Status::Ok();
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "reading the slot config"));
  if (!DecodeSlotConfig(value, &out->config)) {
    return DataLoss("corrupt slot config record");
  }
  if (!out->config.sharded) return Status::Ok();
  out->entries.assign(out->config.slot_count, SlotEntry{});
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, slots));
  for (it->Seek("s"); it->Valid() && it->key().starts_with("s"); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() != 5) return DataLoss("corrupt slot entry key");
    uint32_t slot = static_cast<uint32_t>(
        DecodeBigEndian(std::string(4, '\0') + std::string(key.substr(1))));
    SlotEntry entry;
    if (slot >= out->config.slot_count ||
        !DecodeSlotEntry(it->value().ToStringView(), &entry)) {
      return DataLoss("corrupt slot entry of slot " + std::to_string(slot));
    }
    out->entries[slot] = entry;
  }
  return FromRocks(it->status(), "reading the slot entries");
}

}  // namespace shardkv::storage
