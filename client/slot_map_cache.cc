#include "client/slot_map_cache.h"

#include <string>

#include "common/slot.h"

namespace shardkv::client {

Status ValidateSlotMap(const v1::SlotMap& map) {
  if (!ValidSlotCount(map.slot_count())) {
    return InvalidArgument("slot map has an invalid slot_count " +
                           std::to_string(map.slot_count()));
  }
  if (static_cast<uint32_t>(map.slot_owner_size()) != map.slot_count()) {
    return InvalidArgument(
        "slot map names " + std::to_string(map.slot_owner_size()) +
        " owners for " + std::to_string(map.slot_count()) + " slots");
  }
  return Status::Ok();
}

uint32_t OwnerOfKey(const v1::SlotMap& map, std::string_view key) {
  return map.slot_owner(static_cast<int>(SlotOf(key, map.slot_count())));
}

const v1::Shard* FindShard(const v1::SlotMap& map, uint32_t shard_id) {
  for (const v1::Shard& s : map.shards()) {
    if (s.id() == shard_id) return &s;
  }
  return nullptr;
}

SlotMapCache::Verdict SlotMapCache::Offer(
    std::shared_ptr<const v1::SlotMap> map) {
  if (!map || !ValidateSlotMap(*map).ok()) return Verdict::kMalformed;
  std::lock_guard<std::mutex> lock(mu_);
  if (map_ && map->epoch() <= map_->epoch()) {
    ++ignored_;
    return Verdict::kNotNewer;
  }
  map_ = std::move(map);
  return Verdict::kAccepted;
}

SlotMapCache::Verdict SlotMapCache::Offer(const v1::SlotMap& map) {
  return Offer(std::make_shared<const v1::SlotMap>(map));
}

std::shared_ptr<const v1::SlotMap> SlotMapCache::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_;
}

uint64_t SlotMapCache::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_ ? map_->epoch() : 0;
}

uint64_t SlotMapCache::ignored() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ignored_;
}

}  // namespace shardkv::client
