// The client's cached copy of the cluster's slot map (controller.proto
// SlotMap), newest epoch wins.
//
// Invariant: the epoch of Current() never decreases. A map is accepted only
// if it is well formed (valid slot_count, one owner per slot) and its epoch
// is greater than the cached one; an older or equal map (a watch stream
// replaying, a lagging controller replica) is counted and ignored.
//
// Thread-safe: readers get an immutable shared snapshot and never block a
// writer for longer than a pointer swap.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/status.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::client {

class SlotMapCache {
 public:
  // Why Offer() took or refused a map.
  enum class Verdict { kAccepted, kNotNewer, kMalformed };

  Verdict Offer(std::shared_ptr<const v1::SlotMap> map);
  Verdict Offer(const v1::SlotMap& map);

  // The newest accepted map; nullptr before the first one.
  std::shared_ptr<const v1::SlotMap> Current() const;
  // 0 before the first map.
  uint64_t epoch() const;
  // How many maps were refused as not newer (for tests and diagnostics).
  uint64_t ignored() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const v1::SlotMap> map_;  // GUARDED_BY(mu_)
  uint64_t ignored_ = 0;                    // GUARDED_BY(mu_)
};

// OK when `map` can route keys: a valid slot_count, slot_owner sized to it.
Status ValidateSlotMap(const v1::SlotMap& map);

// The shard owning `key` in `map` (0 = not assigned yet).
// REQUIRES: ValidateSlotMap(map).ok()
uint32_t OwnerOfKey(const v1::SlotMap& map, std::string_view key);

// The shard entry with `shard_id`, or nullptr.
const v1::Shard* FindShard(const v1::SlotMap& map, uint32_t shard_id);

}  // namespace shardkv::client
