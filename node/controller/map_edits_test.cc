#include "node/controller/map_edits.h"

#include <gtest/gtest.h>

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
  // default limit is.
  map.set_max_concurrent_migrations(4);
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

}  // namespace
}  // namespace shardkv::controller
