// SlotExport: one round of the copy of a slot, or of a batch of slots
// (docs/sharding.md, "Migration protocol"), read from one consistent
// RocksDB snapshot of the source. A batch's round is the rounds of its
// slots from that one image, the ranges scanned in key order; it is
// frozen only if every slot is FROZEN in the image.
//
// The image's applied index is the round's as_of_index, the next round's
// after_index. Round after_index = 0: every live key of the slot, then a
// tombstone for each key of the change set that is absent (or expired by
// the image's applied clock). Round after_index > 0: each key of the change
// set with index > after_index, as a record when present and live, else a
// tombstone. When the image has the slot FROZEN, every de-duplication
// session follows the records (possibly over several chunks): that round
// is the last. Every chunk carries as_of_index and frozen; the first one
// changed_keys (change-set keys with index > after_index).
//
// Thread-safety: one thread at a time; holds a RocksDB snapshot until
// destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/storage/engine.h"
#include "shardkv/internal/shard_control.pb.h"

namespace shardkv::storage {

class SlotExport {
 public:
  virtual ~SlotExport() = default;
  virtual uint64_t as_of_index() const = 0;
  virtual bool frozen() const = 0;
  virtual uint64_t changed_keys() const = 0;
  // Fills the next chunk: records totalling about max_bytes (at least one
  // record per chunk). The first call always returns a chunk (possibly
  // empty); false once the round is complete or on a read error (see
  // status()).
  virtual bool NextChunk(uint64_t max_bytes, internal::ExportChunk* chunk) = 0;
  virtual Status status() const = 0;
};

// kFailedPrecondition unless the image has every slot EXPORTING or FROZEN
// for migration_id; kInvalidArgument for no slot.
StatusOr<std::unique_ptr<SlotExport>> OpenSlotExport(
    Engine* engine, uint64_t migration_id, std::vector<uint32_t> slots,
    uint64_t after_index);

}  // namespace shardkv::storage
