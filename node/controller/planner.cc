#include "node/controller/planner.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace shardkv::controller {
namespace {

struct ShardLoad {
  uint32_t id = 0;
  uint32_t count = 0;   // slots it owns or will own (in-flight moves)
  uint32_t target = 0;  // floor or ceil of slot_count / active
};

// Active shards with their targets: the `extra` most loaded get the ceil
// (keeping their slots is what makes the moves minimal).
std::vector<ShardLoad> ActiveLoads(const v1::SlotMap& map,
                                   const std::vector<uint32_t>& owner) {
  std::map<uint32_t, uint32_t> counts;
  for (const v1::Shard& shard : map.shards()) {
    if (shard.state() == v1::SHARD_ACTIVE) counts[shard.id()] = 0;
  }
  for (uint32_t o : owner) {
    auto it = counts.find(o);
    if (it != counts.end()) ++it->second;
  }
  std::vector<ShardLoad> loads;
  for (auto [id, count] : counts) loads.push_back({id, count, 0});
  if (loads.empty()) return loads;
  std::stable_sort(
      loads.begin(), loads.end(),
      [](const ShardLoad& a, const ShardLoad& b) { return a.count > b.count; });
  const uint32_t n = map.slot_count();
  const uint32_t k = static_cast<uint32_t>(loads.size());
  for (uint32_t i = 0; i < k; ++i) {
    loads[i].target = n / k + (i < n % k ? 1 : 0);
  }
  return loads;
}

}  // namespace

std::vector<uint32_t> MigrationSlots(const v1::Migration& m) {
  if (m.slots().empty()) return {m.slot()};
  return {m.slots().begin(), m.slots().end()};
}

uint32_t MaxSlotsPerMigration(const v1::SlotMap& map) {
  return map.max_slots_per_migration() == 0 ? kDefaultMaxSlotsPerMigration
                                            : map.max_slots_per_migration();
}

namespace {

// Every slot's effective owner at once (EffectiveOwner for each slot).
std::vector<uint32_t> EffectiveOwners(const v1::SlotMap& map) {
  const uint32_t n = map.slot_count();
  std::set<uint32_t> known;
  for (const v1::Shard& shard : map.shards()) known.insert(shard.id());
  std::vector<uint32_t> owner(n, 0);
  for (uint32_t slot = 0;
       slot < n && slot < static_cast<uint32_t>(map.slot_owner_size());
       ++slot) {
    uint32_t o = map.slot_owner(static_cast<int>(slot));
    owner[slot] = known.count(o) ? o : 0;
  }
  for (const v1::Migration& m : map.migrations()) {
    if (m.cancelled()) continue;
    for (uint32_t slot : MigrationSlots(m)) {
      if (slot < n) owner[slot] = m.to_shard();
    }
  }
  return owner;
}

}  // namespace

uint32_t EffectiveOwner(const v1::SlotMap& map, uint32_t slot) {
  for (const v1::Migration& m : map.migrations()) {
    if (m.cancelled()) continue;
    for (uint32_t s : MigrationSlots(m)) {
      if (s == slot) return m.to_shard();
    }
  }
  if (slot >= static_cast<uint32_t>(map.slot_owner_size())) return 0;
  uint32_t owner = map.slot_owner(static_cast<int>(slot));
  for (const v1::Shard& shard : map.shards()) {
    if (shard.id() == owner) return owner;
  }
  return 0;
}

RebalancePlan PlanRebalance(const v1::SlotMap& map) {
  RebalancePlan plan;
  const uint32_t n = map.slot_count();
  std::vector<uint32_t> owner = EffectiveOwners(map);
  std::set<uint32_t> pinned;  // slots with a migration in flight
  for (const v1::Migration& m : map.migrations()) {
    for (uint32_t slot : MigrationSlots(m)) pinned.insert(slot);
  }
  std::vector<ShardLoad> loads = ActiveLoads(map, owner);
  if (loads.empty()) return plan;
  std::map<uint32_t, const ShardLoad*> active;
  for (const ShardLoad& load : loads) active[load.id] = &load;

  // Supply: slots that must leave their shard, drains first (they must all
  // go), then the surplus of over-target shards, most loaded first.
  std::vector<std::pair<uint32_t, uint32_t>> supply;  // (slot, from)
  std::vector<uint32_t> unassigned;
  std::map<uint32_t, uint32_t> surplus;
  for (const ShardLoad& load : loads) {
    if (load.count > load.target) surplus[load.id] = load.count - load.target;
  }
  for (uint32_t slot = 0; slot < n; ++slot) {
    uint32_t o = owner[slot];
    if (o == 0) {
      unassigned.push_back(slot);
    } else if (!active.count(o) && !pinned.count(slot)) {
      supply.emplace_back(slot, o);
    }
  }
  for (const ShardLoad& load : loads) {  // most loaded first
    auto it = surplus.find(load.id);
    if (it == surplus.end()) continue;
    // Give up the highest-numbered slots not in flight.
    for (uint32_t slot = n; slot-- > 0 && it->second > 0;) {
      if (owner[slot] != load.id || pinned.count(slot)) continue;
      supply.emplace_back(slot, load.id);
      --it->second;
    }
  }

  // Demand, least loaded first: unassigned slots fill it before moves do.
  std::vector<ShardLoad> demand(loads.rbegin(), loads.rend());
  std::vector<uint32_t> need;
  for (const ShardLoad& load : demand) {
    need.push_back(load.target > load.count ? load.target - load.count : 0);
  }
  // Round-robin over shards with need, so assignments are even even when
  // there are fewer unassigned slots than total need.
  auto hand_out = [&](auto&& give, size_t available) {
    size_t given = 0;
    bool progress = true;
    while (given < available && progress) {
      progress = false;
      for (size_t i = 0; i < demand.size() && given < available; ++i) {
        if (need[i] == 0) continue;
        give(demand[i].id, given++);
        --need[i];
        progress = true;
      }
    }
  };
  hand_out([&](uint32_t to, size_t i) { plan.assignments[unassigned[i]] = to; },
           unassigned.size());
  hand_out(
      [&](uint32_t to, size_t i) {
        v1::PlannedMove move;
        move.set_slot(supply[i].first);
        move.set_from_shard(supply[i].second);
        move.set_to_shard(to);
        plan.moves.push_back(move);
      },
      supply.size());
  return plan;
}

std::vector<PlannedBatch> BatchesToStart(const v1::SlotMap& map,
                                         const RebalancePlan& plan) {
  uint32_t limit = map.max_concurrent_migrations();
  uint32_t running = static_cast<uint32_t>(map.migrations_size());
  if (running >= limit) return {};
  const size_t room = limit - running;
  const size_t cap = MaxSlotsPerMigration(map);
  std::vector<PlannedBatch> batches;
  std::map<std::pair<uint32_t, uint32_t>, size_t> open;  // pair -> index
  for (const v1::PlannedMove& move : plan.moves) {
    auto key = std::make_pair(move.from_shard(), move.to_shard());
    auto it = open.find(key);
    if (it == open.end() || batches[it->second].slots.size() >= cap) {
      if (batches.size() >= room) continue;  // no room for another batch
      batches.push_back({move.from_shard(), move.to_shard(), {}});
      open[key] = batches.size() - 1;
      it = open.find(key);
    }
    batches[it->second].slots.push_back(move.slot());
  }
  return batches;
}

}  // namespace shardkv::controller
