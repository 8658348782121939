#include "node/controller/map_edits.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace shardkv::controller {
namespace {

v1::JoinShardRequest Join(uint32_t id, std::vector<std::string> addresses) {
  v1::JoinShardRequest request;
  request.set_shard_id(id);
  uint64_t member_id = 1;
  for (const std::string& a : addresses) {
    v1::Member* m = request.add_members();
    m->set_id(member_id++);
    m->set_address(a);
  }
  return request;
}

v1::SlotMap TwoShards(uint32_t slot_count) {
  v1::SlotMap map = *NewSlotMap(slot_count);
  EXPECT_TRUE(JoinShard(Join(1, {"a:1"}), &map).ok());
  EXPECT_TRUE(JoinShard(Join(2, {"b:1"}), &map).ok());
  return map;
}

TEST(MapEditsTest, NewMapValidatesSlotCount) {
  EXPECT_FALSE(NewSlotMap(0).ok());
  EXPECT_FALSE(NewSlotMap(12).ok());
  EXPECT_FALSE(NewSlotMap(1u << 17).ok());
  auto map = NewSlotMap(64);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->slot_owner_size(), 64);
  EXPECT_EQ(map->max_concurrent_migrations(), kDefaultMaxConcurrentMigrations);
}

TEST(MapEditsTest, JoinValidatesAndUpdatesMembers) {
  v1::SlotMap map = *NewSlotMap(4);
  EXPECT_EQ(JoinShard(Join(0, {"a:1"}), &map).code(), Code::kInvalidArgument);
  EXPECT_EQ(JoinShard(Join(1, {}), &map).code(), Code::kInvalidArgument);
  EXPECT_EQ(JoinShard(Join(1, {""}), &map).code(), Code::kInvalidArgument);
  v1::JoinShardRequest dup = Join(1, {"a:1", "a:2"});
  dup.mutable_members(1)->set_id(1);
  EXPECT_EQ(JoinShard(dup, &map).code(), Code::kInvalidArgument);
  EXPECT_EQ(map.shards_size(), 0);
  ASSERT_TRUE(JoinShard(Join(1, {"a:1"}), &map).ok());
  ASSERT_TRUE(JoinShard(Join(1, {"a:1", "a:2"}), &map).ok());
  ASSERT_EQ(map.shards_size(), 1);
  EXPECT_EQ(map.shards(0).members_size(), 2);
  EXPECT_EQ(map.shards(0).state(), v1::SHARD_ACTIVE);
}

TEST(MapEditsTest, RebalanceAssignsAndRecordsPendingAssignments) {
  v1::SlotMap empty = *NewSlotMap(8);
  EXPECT_EQ(StartRebalance(&empty).status().code(), Code::kFailedPrecondition);
  v1::SlotMap map = TwoShards(8);
  auto plan = StartRebalance(&map);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->assignments.size(), 8u);
  EXPECT_FALSE(map.rebalancing());
  EXPECT_EQ(OwnedSlots(map, 1), 4u);
  EXPECT_EQ(OwnedSlots(map, 2), 4u);
  ASSERT_EQ(map.pending_assignments_size(), 2);
  EXPECT_EQ(map.pending_assignments(0).slots_size(), 4);
  // Moves wait for the assignments to be confirmed.
  map.set_rebalancing(true);
  ASSERT_TRUE(StartPlannedMoves(1, &map).ok());
  EXPECT_TRUE(map.rebalancing());
  std::vector<uint32_t> first(map.pending_assignments(0).slots().begin(),
                              map.pending_assignments(0).slots().end());
  uint32_t first_shard = map.pending_assignments(0).shard_id();
  ASSERT_TRUE(ConfirmAssignment(first_shard, {first[0]}, &map).ok());
  EXPECT_EQ(map.pending_assignments(0).slots_size(), 3);
  ASSERT_TRUE(ConfirmAssignment(first_shard, first, &map).ok());
  ASSERT_EQ(map.pending_assignments_size(), 1);
  ASSERT_TRUE(StartPlannedMoves(1, &map).ok());
  EXPECT_TRUE(map.rebalancing());  // still one pending
  ASSERT_TRUE(
      ConfirmAssignment(3 - first_shard, {0, 1, 2, 3, 4, 5, 6, 7}, &map).ok());
  EXPECT_EQ(map.pending_assignments_size(), 0);
  ASSERT_TRUE(StartPlannedMoves(1, &map).ok());
  EXPECT_FALSE(map.rebalancing());  // balanced: the flag clears
}

TEST(MapEditsTest, DrainStartsMovesUpToTheLimit) {
  v1::SlotMap map = TwoShards(16);
  // Shard 2 owns 8 slots; a limit below that shows the cap, whatever the
  // default limit is; one slot per migration, as before batches.
  map.set_max_concurrent_migrations(4);
  map.set_max_slots_per_migration(1);
  ASSERT_TRUE(StartRebalance(&map).ok());
  map.clear_pending_assignments();
  ASSERT_TRUE(DrainShard(2, &map).ok());
  EXPECT_TRUE(map.rebalancing());
  ASSERT_TRUE(StartPlannedMoves(1000, &map).ok());
  ASSERT_EQ(map.migrations_size(), 4);
  for (const v1::Migration& m : map.migrations()) {
    EXPECT_EQ(m.from_shard(), 2u);
    EXPECT_EQ(m.to_shard(), 1u);
    EXPECT_EQ(m.phase(), v1::MIGRATION_PREPARING);
    EXPECT_EQ(m.started_ms(), 1000);
  }
  EXPECT_NE(map.migrations(0).id(), map.migrations(1).id());
  // The only other shard cannot drain too while it owns slots.
  EXPECT_EQ(DrainShard(1, &map).code(), Code::kFailedPrecondition);
  EXPECT_EQ(DrainShard(9, &map).code(), Code::kNotFound);
}

TEST(MapEditsTest, CancelDrainCancelsOnlyMigrationsBeforeTheFreeze) {
  v1::SlotMap map = TwoShards(16);
  map.set_max_slots_per_migration(1);
  ASSERT_TRUE(StartRebalance(&map).ok());
  map.clear_pending_assignments();
  ASSERT_TRUE(DrainShard(2, &map).ok());
  ASSERT_TRUE(StartPlannedMoves(0, &map).ok());
  uint64_t frozen = map.migrations(0).id();
  ASSERT_TRUE(SetMigrationPhase(frozen, v1::MIGRATION_PREPARING,
                                v1::MIGRATION_FREEZING, 0, 0, &map)
                  .ok());
  ASSERT_TRUE(CancelDrain(2, &map).ok());
  EXPECT_EQ(FindShard(map, 2)->state(), v1::SHARD_ACTIVE);
  for (const v1::Migration& m : map.migrations()) {
    EXPECT_EQ(m.cancelled(), m.id() != frozen) << m.id();
  }
  uint64_t cancelled = map.migrations(1).id();
  EXPECT_EQ(SetMigrationPhase(cancelled, v1::MIGRATION_PREPARING,
                              v1::MIGRATION_COPYING, 0, 0, &map)
                .code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(FinishMigration(cancelled, &map).ok());
  EXPECT_EQ(map.totals().cancelled(), 1u);
  EXPECT_EQ(FindMigration(map, cancelled), nullptr);
}

TEST(MapEditsTest, MigrationRunsThroughItsPhases) {
  v1::SlotMap map = TwoShards(4);
  ASSERT_TRUE(StartRebalance(&map).ok());
  map.clear_pending_assignments();
  uint32_t slot = 0;
  uint32_t from = map.slot_owner(0);
  uint32_t to = from == 1 ? 2 : 1;
  EXPECT_EQ(AddMigration(9, to, 1, 0, &map).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AddMigration(slot, from, 1, 0, &map).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(AddMigration(slot, 7, 1, 0, &map).status().code(), Code::kNotFound);
  auto m = AddMigration(slot, to, 42, 0, &map);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(AddMigration(slot, to, 43, 0, &map).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(FinishMigration(42, &map).code(), Code::kFailedPrecondition);
  EXPECT_EQ(SwitchOwner(42, 0, 0, &map).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(SetMigrationPhase(42, v1::MIGRATION_PREPARING,
                                v1::MIGRATION_COPYING, 0, 0, &map)
                  .ok());
  ASSERT_TRUE(SetMigrationPhase(42, v1::MIGRATION_COPYING,
                                v1::MIGRATION_FREEZING, 10, 100, &map)
                  .ok());
  // The source stays owner until the switch; neither shard can leave.
  EXPECT_EQ(map.slot_owner(0), from);
  EXPECT_EQ(RemoveShard(to, &map).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(SwitchOwner(42, 11, 110, &map).ok());
  EXPECT_EQ(map.slot_owner(0), to);
  ASSERT_TRUE(FinishMigration(42, &map).ok());
  EXPECT_EQ(map.totals().slots_moved(), 1u);
  EXPECT_EQ(map.totals().keys_moved(), 11u);
  EXPECT_EQ(map.totals().bytes_moved(), 110u);
  EXPECT_EQ(map.migrations_size(), 0);
}

TEST(MapEditsTest, RemoveOnlyAnEmptyShard) {
  v1::SlotMap map = TwoShards(4);
  ASSERT_TRUE(StartRebalance(&map).ok());
  EXPECT_EQ(RemoveShard(2, &map).code(), Code::kFailedPrecondition);
  EXPECT_EQ(RemoveShard(5, &map).code(), Code::kNotFound);
  ASSERT_TRUE(JoinShard(Join(3, {"c:1"}), &map).ok());
  ASSERT_TRUE(RemoveShard(3, &map).ok());
  EXPECT_EQ(FindShard(map, 3), nullptr);
  EXPECT_EQ(map.shards_size(), 2);
}

TEST(MapEditsTest, MoveSlotIsCappedByTheConcurrencyLimit) {
  v1::SlotMap map = TwoShards(16);
  ASSERT_TRUE(StartRebalance(&map).ok());
  map.clear_pending_assignments();
  map.set_max_concurrent_migrations(2);
  int started = 0;
  for (uint32_t slot = 0; slot < 16 && started < 3; ++slot) {
    uint32_t to = map.slot_owner(static_cast<int>(slot)) == 1 ? 2 : 1;
    auto m = AddMigration(slot, to, 100 + slot, 0, &map);
    if (started < 2) {
      EXPECT_TRUE(m.ok());
    } else {
      EXPECT_EQ(m.status().code(), Code::kResourceExhausted);
    }
    ++started;
  }
}

TEST(MapEditsTest, DrainStartsOneBatchPerSourceAndTarget) {
  v1::SlotMap map = TwoShards(16);
  EXPECT_EQ(MaxSlotsPerMigration(map), kDefaultMaxSlotsPerMigration);
  ASSERT_TRUE(StartRebalance(&map).ok());
  map.clear_pending_assignments();
  map.set_max_slots_per_migration(3);
  ASSERT_TRUE(DrainShard(2, &map).ok());
  ASSERT_TRUE(StartPlannedMoves(5, &map).ok());
  // Shard 2's 8 slots in batches of at most 3, each with slot = slots[0].
  ASSERT_EQ(map.migrations_size(), 3);
  std::set<uint32_t> moving;
  for (const v1::Migration& m : map.migrations()) {
    EXPECT_EQ(m.from_shard(), 2u);
    EXPECT_EQ(m.to_shard(), 1u);
    EXPECT_LE(m.slots_size(), 3);
    ASSERT_GT(m.slots_size(), 0);
    EXPECT_EQ(m.slot(), m.slots(0));
    for (uint32_t s : m.slots()) {
      EXPECT_EQ(map.slot_owner(static_cast<int>(s)), 2u);
      EXPECT_TRUE(moving.insert(s).second) << s;
    }
  }
  EXPECT_EQ(moving.size(), 8u);
  // Planning again starts nothing new: every slot is in flight.
  ASSERT_TRUE(StartPlannedMoves(6, &map).ok());
  EXPECT_EQ(map.migrations_size(), 3);
  // Cancel before the freeze cancels whole batches; the totals count slots.
  ASSERT_TRUE(CancelDrain(2, &map).ok());
  uint64_t first = map.migrations(0).id();
  uint32_t first_slots = map.migrations(0).slots_size();
  EXPECT_TRUE(map.migrations(0).cancelled());
  ASSERT_TRUE(FinishMigration(first, &map).ok());
  EXPECT_EQ(map.totals().cancelled(), first_slots);
}

TEST(MapEditsTest, BatchSwitchesEveryOneOfItsSlotsAtOnce) {
  v1::SlotMap map = TwoShards(8);
  for (uint32_t s = 0; s < 8; ++s) map.set_slot_owner(s, s < 4 ? 1 : 2);
  // Mixed sources, duplicates, an empty list and a slot already moving
  // are refused without touching the map.
  EXPECT_EQ(
      AddMigration(std::vector<uint32_t>{0, 4}, 2, 1, 0, &map).status().code(),
      Code::kFailedPrecondition);  // 4 is already shard 2's
  EXPECT_EQ(
      AddMigration(std::vector<uint32_t>{4, 0}, 1, 1, 0, &map).status().code(),
      Code::kFailedPrecondition);  // 0 is already shard 1's
  EXPECT_EQ(
      AddMigration(std::vector<uint32_t>{0, 0}, 2, 1, 0, &map).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(
      AddMigration(std::vector<uint32_t>{}, 2, 1, 0, &map).status().code(),
      Code::kInvalidArgument);
  ASSERT_TRUE(AddMigration(3, 2, 5, 0, &map).ok());
  EXPECT_EQ(
      AddMigration(std::vector<uint32_t>{0, 3}, 2, 1, 0, &map).status().code(),
      Code::kFailedPrecondition);
  EXPECT_EQ(map.migrations_size(), 1);
  auto batch = AddMigration(std::vector<uint32_t>{0, 1, 2}, 2, 7, 0, &map);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(MigrationSlots(*batch), (std::vector<uint32_t>{0, 1, 2}));
  ASSERT_TRUE(SetMigrationPhase(7, v1::MIGRATION_PREPARING,
                                v1::MIGRATION_FREEZING, 30, 300, &map)
                  .ok());
  for (uint32_t s : {0u, 1u, 2u}) EXPECT_EQ(map.slot_owner(s), 1u);
  ASSERT_TRUE(SwitchOwner(7, 30, 300, &map).ok());
  for (uint32_t s : {0u, 1u, 2u}) EXPECT_EQ(map.slot_owner(s), 2u);
  EXPECT_EQ(map.slot_owner(3), 1u);  // its own migration is not switched
  ASSERT_TRUE(FinishMigration(7, &map).ok());
  EXPECT_EQ(map.totals().slots_moved(), 3u);
  EXPECT_EQ(map.totals().keys_moved(), 30u);
}

TEST(MapEditsTest, RebalancingStaysOnWhileSlotsMoveIntoADrainingShard) {
  // Shard 2 drains into shards 1 and 3; shard 3 starts draining while a
  // batch is still moving into it: the plan is empty (every slot of a
  // draining shard is in flight), yet those slots must move again.
  v1::SlotMap map = TwoShards(8);
  ASSERT_TRUE(JoinShard(Join(3, {"c:1"}), &map).ok());
  for (uint32_t s = 0; s < 8; ++s) map.set_slot_owner(s, s < 4 ? 1 : 3);
  ASSERT_TRUE(AddMigration(std::vector<uint32_t>{4, 5}, 2, 1, 0, &map).ok());
  ASSERT_TRUE(DrainShard(3, &map).ok());
  ASSERT_TRUE(AddMigration(std::vector<uint32_t>{6, 7}, 1, 2, 0, &map).ok());
  ASSERT_TRUE(DrainShard(2, &map).ok());
  ASSERT_TRUE(PlanRebalance(map).moves.empty());
  ASSERT_TRUE(StartPlannedMoves(0, &map).ok());
  EXPECT_TRUE(map.rebalancing());
  // Once the batch into shard 2 landed, its slots are planned again.
  ASSERT_TRUE(SetMigrationPhase(1, v1::MIGRATION_PREPARING,
                                v1::MIGRATION_FREEZING, 0, 0, &map)
                  .ok());
  ASSERT_TRUE(SwitchOwner(1, 0, 0, &map).ok());
  ASSERT_TRUE(FinishMigration(1, &map).ok());
  ASSERT_TRUE(StartPlannedMoves(0, &map).ok());
  EXPECT_TRUE(map.rebalancing());
  ASSERT_EQ(map.migrations_size(), 2);
  EXPECT_EQ(map.migrations(1).from_shard(), 2u);
  EXPECT_EQ(map.migrations(1).to_shard(), 1u);
}

TEST(MapEditsTest, OldStyleMigrationWithoutSlotsStillFinishes) {
  // A map written before batches: the migration names only `slot`.
  v1::SlotMap map = TwoShards(4);
  for (uint32_t s = 0; s < 4; ++s) map.set_slot_owner(s, 1);
  v1::Migration* old = map.add_migrations();
  old->set_id(9);
  old->set_slot(2);
  old->set_from_shard(1);
  old->set_to_shard(2);
  old->set_phase(v1::MIGRATION_FREEZING);
  EXPECT_EQ(MigrationSlots(*old), std::vector<uint32_t>{2});
  EXPECT_EQ(AddMigration(2, 2, 10, 0, &map).status().code(),
            Code::kFailedPrecondition);  // still known as moving
  ASSERT_TRUE(SwitchOwner(9, 1, 1, &map).ok());
  EXPECT_EQ(map.slot_owner(2), 2u);
  EXPECT_EQ(map.slot_owner(1), 1u);
  ASSERT_TRUE(FinishMigration(9, &map).ok());
  EXPECT_EQ(map.totals().slots_moved(), 1u);
}

}  // namespace
}  // namespace shardkv::controller
