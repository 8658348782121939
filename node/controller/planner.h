// Rebalancing plan: a pure function of the slot map (docs/sharding.md).
//
// Every slot of a DRAINING shard moves; among ACTIVE shards each ends with
// floor or ceil of slot_count / active slots (the most loaded shards keep
// the ceil, which makes the number of moves minimal); slots move from the
// most loaded shards to the least loaded; unassigned slots are assigned
// directly (no data exists) to the shards furthest below their target.
// A slot with a migration in flight counts as its target's and is never
// planned again, so no slot moves twice.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "shardkv/v1/controller.pb.h"

namespace shardkv::controller {

// Written into a new map. A batch's node steps are one command each and
// its copy one stream, so its cost barely grows with its slots: 256 moves
// 1 GB of 4,096 slots in 8 batches (rebalance_bench.sh, docs/benchmarks.md).
inline constexpr uint32_t kDefaultMaxSlotsPerMigration = 256;

// The slots a migration moves: `slots`, or `slot` alone for a migration
// written before batches existed.
std::vector<uint32_t> MigrationSlots(const v1::Migration& m);
// The map's max_slots_per_migration, 0 read as the default.
uint32_t MaxSlotsPerMigration(const v1::SlotMap& map);

// Planned moves from one source to one target, started as one migration.
struct PlannedBatch {
  uint32_t from_shard = 0;
  uint32_t to_shard = 0;
  std::vector<uint32_t> slots;
};

struct RebalancePlan {
  // Unassigned slot -> active shard (no data to move).
  std::map<uint32_t, uint32_t> assignments;
  // Moves, drains first, then from the most loaded shards.
  std::vector<v1::PlannedMove> moves;
};

// The shard that will own `slot` once its migration (if any) completes;
// 0 when unassigned. Slots of shards not in the map count as unassigned.
uint32_t EffectiveOwner(const v1::SlotMap& map, uint32_t slot);

// The whole plan. Empty when there is no ACTIVE shard.
RebalancePlan PlanRebalance(const v1::SlotMap& map);

// The moves of `plan` that may start now, grouped by (source, target) in
// plan order into batches of at most MaxSlotsPerMigration slots: at most
// max_concurrent_migrations minus the migrations in flight batches.
std::vector<PlannedBatch> BatchesToStart(const v1::SlotMap& map,
                                         const RebalancePlan& plan);

}  // namespace shardkv::controller
