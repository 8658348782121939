// Slot ownership as the state machine keeps it (docs/sharding.md,
// "Ownership on the nodes"), and the key encodings that make a slot a set
// of key ranges.
//
//   data   [KeyPrefix(key), 2 bytes big endian][key] -> value record
//   slots  'g'                       -> SlotConfig (sharded, count, epoch)
//          's' + slot (BE32)         -> SlotEntry (state, migration id)
//          'x' + slot (BE32) + key   -> applied index of the key's last
//                                       change while EXPORTING
//
// Since slot_count divides 65536, slot s is the prefixes p with
// p % slot_count == s: copying or dropping a slot is a handful of range
// scans / DeleteRanges.
//
// Thread-safety: plain values and pure functions; a SlotTable is guarded
// by its owner.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardkv::storage {

// Numbered as shardkv.internal.SlotState.
enum class SlotState : uint8_t {
  kNotOwned = 0,
  kOwned = 1,
  kExporting = 2,
  kFrozen = 3,
  kImporting = 4,
};
const char* SlotStateName(SlotState state);

struct SlotEntry {
  SlotState state = SlotState::kNotOwned;
  // The migration that last changed the slot (kept after Release/Abort so
  // that a repeated step gets the same answer).
  uint64_t migration_id = 0;
};

struct SlotConfig {
  bool sharded = false;  // false: never got a slot command, serves all keys
  uint32_t slot_count = 0;
  uint64_t epoch = 0;  // highest slot map epoch applied
};

// Why a key's request is refused by the slot check.
enum class Rejection : uint8_t {
  kNone = 0,
  kWrongShard,     // NOT_OWNED: FAILED_PRECONDITION + WRONG_SHARD + epoch
  kSlotMigrating,  // IMPORTING / FROZEN: UNAVAILABLE + SLOT_MIGRATING
};

struct SlotRejection {
  Rejection reason = Rejection::kNone;
  uint32_t slot = 0;
  uint64_t epoch = 0;

  bool rejected() const { return reason != Rejection::kNone; }
  // The status to answer with (OK when not rejected).
  Status ToStatus() const;
};

// Every slot's entry plus the config; entries has slot_count elements
// once sharded (empty before).
struct SlotTable {
  SlotConfig config;
  std::vector<SlotEntry> entries;

  SlotEntry Get(uint32_t slot) const {
    return slot < entries.size() ? entries[slot] : SlotEntry{};
  }
  // The verdict for a key (no rejection while unsharded).
  SlotRejection Check(std::string_view key) const;
  // Slots served or being exported (OWNED, EXPORTING, FROZEN).
  uint32_t OwnedCount() const;
};

// The longest key the state machine stores (the server's limit is far
// below): bounds the end of the last prefix's range.
inline constexpr size_t kMaxStoredKeyBytes = 4096;

std::string DataKey(std::string_view key);
// REQUIRES: data_key.size() >= 2.
inline std::string_view UserKey(std::string_view data_key) {
  return data_key.substr(2);
}
uint16_t DataKeyPrefix(std::string_view data_key);  // REQUIRES: size >= 2

struct KeyRange {
  std::string begin;  // inclusive
  std::string end;    // exclusive
};
// The data key ranges of `slot`. REQUIRES: valid count, slot < count.
std::vector<KeyRange> SlotRanges(uint32_t slot, uint32_t slot_count);
// The data key range of prefixes [first, last].
KeyRange PrefixRange(uint32_t first, uint32_t last);

inline constexpr char kSlotConfigKey[] = "g";
std::string SlotEntryKey(uint32_t slot);
std::string ChangeKeyPrefix(uint32_t slot);
std::string ChangeKey(uint32_t slot, std::string_view key);

std::string EncodeSlotConfig(const SlotConfig& config);
bool DecodeSlotConfig(std::string_view in, SlotConfig* out);
std::string EncodeSlotEntry(const SlotEntry& entry);
bool DecodeSlotEntry(std::string_view in, SlotEntry* out);

// Reads the table from the slots column family (at `snapshot` if given).
Status LoadSlotTable(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* slots,
                     const rocksdb::Snapshot* snapshot, SlotTable* out);

}  // namespace shardkv::storage
