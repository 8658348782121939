#include "orchestration/controller_api.h"

#include <thread>

namespace shardkv::orchestration {

StatusOr<v1::SlotMap> WaitForMap(
    ControllerApi& api, const std::function<bool(const v1::SlotMap&)>& done,
    const WaitOptions& options) {
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  Status last_error;
  while (true) {
    if (options.stop && options.stop())
      return Status(Code::kCancelled, "stopped");
    auto map = api.GetMap();
    if (map.ok()) {
      if (options.on_map) options.on_map(*map);
      if (done(*map)) return map;
    } else {
      last_error = map.status();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string why = "the slot map did not reach the expected state";
      if (!last_error.ok())
        why += " (last error: " + last_error.ToString() + ")";
      return Status(Code::kDeadlineExceeded, why);
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

const v1::Shard* FindShard(const v1::SlotMap& map, ShardId shard) {
  for (const v1::Shard& s : map.shards()) {
    if (s.id() == shard) return &s;
  }
  return nullptr;
}

uint32_t SlotsOwnedBy(const v1::SlotMap& map, ShardId shard) {
  uint32_t n = 0;
  for (uint32_t owner : map.slot_owner()) n += owner == shard ? 1 : 0;
  return n;
}

bool Balanced(const v1::SlotMap& map) {
  if (map.migrations_size() > 0 || map.rebalancing()) return false;
  if (map.pending_assignments_size() > 0) return false;
  for (uint32_t owner : map.slot_owner()) {
    if (owner == 0) return false;
  }
  return true;
}

bool Drained(const v1::SlotMap& map, ShardId shard) {
  if (SlotsOwnedBy(map, shard) > 0) return false;
  for (const v1::Migration& m : map.migrations()) {
    if (m.from_shard() == shard || m.to_shard() == shard) return false;
  }
  return true;
}

}  // namespace shardkv::orchestration
