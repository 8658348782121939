// The changes the Controller service and the migration driver make to the
// slot map, as pure functions: each validates against the current map and
// edits `map` in place, or returns a clear error and leaves it untouched.
// The caller stores the result by compare-and-set (map_store.h), which also
// bumps the epoch.
//
// Invariants kept: slot_owner has slot_count entries; shard ids are
// non-zero and unique; a slot has at most one migration; a migration names
// two shards of the map, different, the target ACTIVE when it starts; a
// shard is removed only when it owns no slot, has no pending assignment
// and no migration names it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "node/controller/planner.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::controller {

inline constexpr uint32_t kDefaultMaxConcurrentMigrations = 16;

// A new cluster's map: every slot unassigned, epoch 0 (the first stored
// version gets epoch 1).
StatusOr<v1::SlotMap> NewSlotMap(uint32_t slot_count);

const v1::Shard* FindShard(const v1::SlotMap& map, uint32_t shard_id);
const v1::Migration* FindMigration(const v1::SlotMap& map, uint64_t id);
// Slots the shard owns in slot_owner (not counting moves in flight).
uint32_t OwnedSlots(const v1::SlotMap& map, uint32_t shard_id);

Status JoinShard(const v1::JoinShardRequest& request, v1::SlotMap* map);
Status DrainShard(uint32_t shard_id, v1::SlotMap* map);
// Back to ACTIVE; its migrations before FREEZING are marked cancelled.
Status CancelDrain(uint32_t shard_id, v1::SlotMap* map);
Status RemoveShard(uint32_t shard_id, v1::SlotMap* map);

// Records a new migration in PREPARING with id `migration_id`.
StatusOr<v1::Migration> AddMigration(uint32_t slot, uint32_t to_shard,
                                     uint64_t migration_id, int64_t now_ms,
                                     v1::SlotMap* map);
// A batch: one migration moving every slot of `slots` (non-empty, distinct,
// all owned by the same shard, none moving) to `to_shard`. Each slot is
// checked as AddMigration checks one; any failure leaves the map untouched.
StatusOr<v1::Migration> AddMigration(const std::vector<uint32_t>& slots,
                                     uint32_t to_shard, uint64_t migration_id,
                                     int64_t now_ms, v1::SlotMap* map);
// A migration id no earlier migration used: derived from the epoch the
// change will be stored at (epochs only grow) and its index in the change.
uint64_t NextMigrationId(const v1::SlotMap& map, uint32_t index);

// Rebalance: assigns unassigned slots (recorded as pending assignments for
// the driver to send) and sets `rebalancing` when any move is planned (the
// driver starts them). Returns the whole plan.
StatusOr<RebalancePlan> StartRebalance(v1::SlotMap* map);
// The driver's step while `rebalancing`: starts the planned moves allowed
// by max_concurrent_migrations, or clears `rebalancing` once nothing is
// planned. No-op while assignments are pending.
Status StartPlannedMoves(int64_t now_ms, v1::SlotMap* map);

// Driver steps. Each checks the migration is still in the expected phase.
Status SetMigrationPhase(uint64_t id, v1::MigrationPhase from,
                         v1::MigrationPhase to, uint64_t keys_copied,
                         uint64_t bytes_copied, v1::SlotMap* map);
// FREEZING -> SWITCHED and slot_owner[s] = to_shard for each of its slots.
Status SwitchOwner(uint64_t id, uint64_t keys_copied, uint64_t bytes_copied,
                   v1::SlotMap* map);
// Removes a SWITCHED migration (totals grow) or a cancelled one.
Status FinishMigration(uint64_t id, v1::SlotMap* map);
// Once the shard confirmed `slots`: drops them from its pending entry (the
// entry goes when empty; slots added since stay pending).
Status ConfirmAssignment(uint32_t shard_id, const std::vector<uint32_t>& slots,
                         v1::SlotMap* map);

}  // namespace shardkv::controller
