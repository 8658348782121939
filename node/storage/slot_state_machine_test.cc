// Slot ownership in the state machine: every transition, its idempotency,
// apply-time rejection, sessions, snapshots and Release.
#include <gtest/gtest.h>

#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr uint32_t kCount = 4;

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST(SlotStateMachineTest, UnshardedServesEveryKey) {
  Node n;
  for (uint32_t slot = 0; slot < kCount; ++slot) {
    std::string key = KeyOfSlot(slot, kCount, 0);
    EXPECT_TRUE(n.Apply(SetCmd(key, "v", 1)).status.ok());
    EXPECT_TRUE(n.Read(key).found);
  }
  EXPECT_FALSE(n.sm->Slots().config.sharded);
  EXPECT_FALSE(n.sm->CheckKey("anything").rejected());
}

TEST(SlotStateMachineTest, AssignServesOnlyAssignedSlots) {
  Node n;
  ApplyResult r = n.Apply(AssignCmd(kCount, {0, 1}, 3));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.epoch, 3u);
  std::string mine = KeyOfSlot(1, kCount, 0);
  std::string other = KeyOfSlot(2, kCount, 0);
  EXPECT_TRUE(n.Apply(SetCmd(mine, "v", 1)).status.ok());
  ApplyResult refused = n.Apply(SetCmd(other, "v", 1));
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.rejection.reason, Rejection::kWrongShard);
  EXPECT_EQ(refused.rejection.epoch, 3u);
  EXPECT_EQ(refused.rejection.slot, 2u);
  EXPECT_EQ(n.Apply(DelCmd(other, 1)).rejection.reason, Rejection::kWrongShard);
  ReadResult read = n.Read(other);
  EXPECT_EQ(read.rejection.reason, Rejection::kWrongShard);
  EXPECT_FALSE(read.found);
  EXPECT_TRUE(n.Read(mine).found);
  // A repeat is a no-op; a later assignment adds slots and raises epoch.
  EXPECT_TRUE(n.Apply(AssignCmd(kCount, {0, 1}, 3)).status.ok());
  EXPECT_TRUE(n.Apply(AssignCmd(kCount, {2}, 5)).status.ok());
  EXPECT_EQ(n.StateOf(2), SlotState::kOwned);
  EXPECT_EQ(n.sm->Slots().config.epoch, 5u);
  EXPECT_EQ(n.sm->Slots().OwnedCount(), 3u);
  // Survives a restart.
  n.Open();
  EXPECT_EQ(n.StateOf(1), SlotState::kOwned);
  EXPECT_EQ(n.StateOf(3), SlotState::kNotOwned);
  EXPECT_EQ(n.Read(KeyOfSlot(3, kCount, 0)).rejection.epoch, 5u);
  // Another slot count is refused.
  EXPECT_EQ(n.Apply(AssignCmd(8, {3}, 6)).status.code(),
            Code::kFailedPrecondition);
}

TEST(SlotStateMachineTest, AssignRefusesToStrandDataOfAnUnshardedNode) {
  Node n;
  std::string key = KeyOfSlot(2, kCount, 0);
  n.Apply(SetCmd(key, "v", 1));
  ApplyResult r = n.Apply(AssignCmd(kCount, {0, 1}, 1));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(r.status, "slot 2")) << r.status.ToString();
  EXPECT_FALSE(n.sm->Slots().config.sharded);
  EXPECT_EQ(n.Apply(BeginImportCmd(7, 0, kCount)).status.code(),
            Code::kFailedPrecondition);
  // Expired data does not count.
  Node m;
  m.Apply(SetCmd(key, "v", 1, /*expire_at_ms=*/5));
  internal::Command assign = AssignCmd(kCount, {0}, 1);
  assign.set_now_ms(10);  // the applied clock passes the expiry
  EXPECT_TRUE(m.Apply(assign).status.ok());
  // Covering assignments keep the data.
  EXPECT_TRUE(n.Apply(AssignCmd(kCount, {2, 3}, 1)).status.ok());
  EXPECT_EQ(n.Read(key).value, "v");
}

TEST(SlotStateMachineTest, MigrationStepsAreIdempotentAndOrdered) {
  Node source;
  Node target;
  const uint32_t slot = 1;
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  source.Apply(SetCmd(KeyOfSlot(slot, kCount, 0), "v", 1));

  // Target: NOT_OWNED -> IMPORTING (twice), misfits refused.
  EXPECT_EQ(target.Apply(ActivateCmd(9, slot)).status.code(),
            Code::kFailedPrecondition);
  for (int i = 0; i < 2; ++i) {
    ApplyResult r = target.Apply(BeginImportCmd(9, slot, kCount, 2));
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.slot_state, SlotState::kImporting);
    EXPECT_EQ(r.epoch, 2u);
  }
  ApplyResult misfit = target.Apply(ReleaseCmd(9, slot));
  EXPECT_EQ(misfit.status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(misfit.status, "IMPORTING")) << misfit.status.ToString();
  EXPECT_EQ(target.Apply(BeginImportCmd(8, slot, kCount)).status.code(),
            Code::kFailedPrecondition);  // an older migration

  // Source: OWNED -> EXPORTING -> FROZEN, each twice.
  EXPECT_EQ(source.Apply(FreezeCmd(9, slot)).status.code(),
            Code::kFailedPrecondition);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(source.Apply(BeginExportCmd(9, slot, 2)).slot_state,
              SlotState::kExporting);
  }
  EXPECT_EQ(source.Apply(BeginExportCmd(10, slot)).status.code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(source.Apply(ReleaseCmd(9, slot)).status.code(),
            Code::kFailedPrecondition);  // not frozen yet
  uint64_t as_of = CopyRound(source, target, 9, slot, 0).as_of;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(source.Apply(FreezeCmd(9, slot)).slot_state, SlotState::kFrozen);
  }
  EXPECT_EQ(source.Apply(AbortCmd(9, slot)).status.code(),
            Code::kFailedPrecondition);  // no cancel after the freeze
  RoundResult last = CopyRound(source, target, 9, slot, as_of);
  EXPECT_TRUE(last.frozen);

  // Target: IMPORTING -> OWNED (twice); a late import is a no-op.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(target.Apply(ActivateCmd(9, slot, 3)).slot_state,
              SlotState::kOwned);
  }
  EXPECT_TRUE(target.Apply(BeginImportCmd(9, slot, kCount)).status.ok());
  std::string key = KeyOfSlot(slot, kCount, 0);
  target.Apply(SetCmd(key, "newer", 2));
  CopyRound(source, target, 9, slot, 0);  // replayed import: no effect
  EXPECT_EQ(target.Read(key).value, "newer");

  // Source: FROZEN -> NOT_OWNED (twice); data gone, WRONG_SHARD.
  for (int i = 0; i < 2; ++i) {
    ApplyResult r = source.Apply(ReleaseCmd(9, slot, 3));
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.slot_state, SlotState::kNotOwned);
  }
  EXPECT_TRUE(source.Apply(FreezeCmd(9, slot)).status.ok());  // stale repeat
  EXPECT_EQ(source.StateOf(slot), SlotState::kNotOwned);
  ReadResult gone = source.Read(key);
  EXPECT_EQ(gone.rejection.reason, Rejection::kWrongShard);
  EXPECT_EQ(gone.rejection.epoch, 3u);
  EXPECT_TRUE(source.Dump(slot, kCount, 0).empty());
  EXPECT_FALSE(source.sm->ExportSlot(9, slot, 0).ok());
}

// Found by the chaos suite (seed 1044537398): a replica catching up applies
// many entries in one batch; a slot released and imported back within that
// batch left its old records visible to later reads of the batch, so a Set
// computed its version from a record that the leader had dropped -- the
// replicas diverged (same value, version 18 instead of 6).
TEST(SlotStateMachineTest, EntriesAfterADropInOneBatchDoNotSeeDroppedRecords) {
  const uint32_t slot = 1;
  const std::string key = KeyOfSlot(slot, kCount, 0);
  for (bool one_batch : {false, true}) {
    Node node;
    node.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
    for (int i = 0; i < 5; ++i) node.Apply(SetCmd(key, "old", 1));
    ASSERT_EQ(node.Read(key).version, 5u);
    raft::Index next = node.sm->applied().index + 1;
    std::vector<raft::Entry> entries = {
        CommandEntry(next, 1, {BeginExportCmd(7, slot, 2)}),
        CommandEntry(next + 1, 1, {FreezeCmd(7, slot)}),
        CommandEntry(next + 2, 1, {ReleaseCmd(7, slot, 3)}),
        CommandEntry(next + 3, 1, {BeginImportCmd(8, slot, kCount, 4)}),
        CommandEntry(next + 4, 1, {ActivateCmd(8, slot, 5)}),
        CommandEntry(next + 5, 1, {SetCmd(key, "new", 2)})};
    std::vector<std::vector<ApplyResult>> results;
    if (one_batch) {
      ASSERT_TRUE(node.sm->ApplyEntries(entries, &results).ok());
    } else {
      for (const raft::Entry& e : entries) {
        std::vector<std::vector<ApplyResult>> one;
        ASSERT_TRUE(node.sm->ApplyEntries({e}, &one).ok());
        results.push_back(one[0]);
      }
    }
    ASSERT_EQ(results.size(), 6u);
    ASSERT_TRUE(results[5][0].status.ok()) << results[5][0].status.ToString();
    EXPECT_EQ(results[5][0].version, 1u) << "one batch: " << one_batch;
    EXPECT_EQ(node.Read(key).version, 1u);
    EXPECT_EQ(node.sm->applied().index, next + 5);
  }
}

TEST(SlotStateMachineTest, WritesAreCheckedWhenApplied) {
  Node n;
  const uint32_t slot = 2;
  std::string key = KeyOfSlot(slot, kCount, 0);
  n.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  n.Apply(SetCmd(key, "before", 1));
  n.Apply(BeginExportCmd(4, slot));
  // Proposed before the freeze, applied after it (same entry, later).
  auto out =
      n.Apply({FreezeCmd(4, slot), WithClient(SetCmd(key, "after", 2), 77, 1),
               DelCmd(KeyOfSlot(slot, kCount, 1), 2),
               SetCmd(KeyOfSlot(0, kCount, 0), "other slot", 2)});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].status.code(), Code::kUnavailable);
  EXPECT_EQ(out[1].rejection.reason, Rejection::kSlotMigrating);
  EXPECT_EQ(out[2].rejection.reason, Rejection::kSlotMigrating);
  EXPECT_TRUE(out[3].status.ok());
  EXPECT_EQ(n.Read(key).rejection.reason, Rejection::kSlotMigrating);
  auto records = n.Dump(slot, kCount, 0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::get<0>(records[key]), "before");
  // The refused write left no session: the frozen image has none for 77.
  auto image = n.sm->ExportSlot(4, slot, 0);
  ASSERT_TRUE(image.ok());
  internal::ExportChunk chunk;
  while ((*image)->NextChunk(1 << 20, &chunk)) {
    for (const auto& s : chunk.sessions()) EXPECT_NE(s.client_id(), 77u);
  }
}

TEST(SlotStateMachineTest, RefusedWriteCanBeRetriedWithTheSameSequence) {
  Node n;
  const uint32_t slot = 3;
  std::string key = KeyOfSlot(slot, kCount, 0);
  n.Apply(BeginImportCmd(5, slot, kCount, 1));
  EXPECT_EQ(n.Apply(WithClient(SetCmd(key, "v", 1), 9, 1)).rejection.reason,
            Rejection::kSlotMigrating);
  n.Apply(ActivateCmd(5, slot, 2));
  ApplyResult r = n.Apply(WithClient(SetCmd(key, "v", 1), 9, 1));
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.version, 1u);
  EXPECT_EQ(n.Read(key).value, "v");
}

TEST(SlotStateMachineTest, AbortUndoesEachSide) {
  Node source;
  Node target;
  const uint32_t slot = 0;
  std::string key = KeyOfSlot(slot, kCount, 0);
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  source.Apply(SetCmd(key, "v", 1));
  source.Apply(BeginExportCmd(3, slot));
  source.Apply(SetCmd(key, "w", 2));  // tracked
  target.Apply(BeginImportCmd(3, slot, kCount));
  CopyRound(source, target, 3, slot, 0);
  EXPECT_EQ(target.Dump(slot, kCount, 0).size(), 1u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(source.Apply(AbortCmd(3, slot)).slot_state, SlotState::kOwned);
    EXPECT_EQ(target.Apply(AbortCmd(3, slot)).slot_state, SlotState::kNotOwned);
  }
  EXPECT_EQ(source.Read(key).value, "w");
  EXPECT_TRUE(target.Dump(slot, kCount, 0).empty());
  EXPECT_EQ(target.Read(key).rejection.reason, Rejection::kWrongShard);
  // An aborted migration cannot restart; a new one starts clean.
  EXPECT_EQ(source.Apply(BeginExportCmd(3, slot)).status.code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(target.Apply(BeginImportCmd(3, slot, kCount)).status.code(),
            Code::kFailedPrecondition);
  EXPECT_TRUE(source.Apply(BeginExportCmd(4, slot)).status.ok());
  auto image = source.sm->ExportSlot(4, slot, 0);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ((*image)->changed_keys(), 0u);  // the old change set is gone
  // Abort of a migration this side never began is a no-op.
  EXPECT_TRUE(target.Apply(AbortCmd(42, 1)).status.ok());
}

TEST(SlotStateMachineTest, BeginImportDropsLeftoversOfAnOlderMigration) {
  Node source;
  Node target;
  const uint32_t slot = 1;
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  for (int i = 0; i < 5; ++i) {
    source.Apply(SetCmd(KeyOfSlot(slot, kCount, i), "v", 1));
  }
  source.Apply(BeginExportCmd(1, slot));
  target.Apply(BeginImportCmd(1, slot, kCount));
  CopyRound(source, target, 1, slot, 0);
  EXPECT_EQ(target.Dump(slot, kCount, 0).size(), 5u);
  EXPECT_TRUE(target.Apply(BeginImportCmd(2, slot, kCount)).status.ok());
  EXPECT_TRUE(target.Dump(slot, kCount, 0).empty());
  EXPECT_EQ(target.sm->Slots().Get(slot).migration_id, 2u);
}

TEST(SlotStateMachineTest, ReleaseDeletesOnlyThatSlot) {
  Node n;
  n.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  for (uint32_t slot = 0; slot < kCount; ++slot) {
    for (int i = 0; i < 20; ++i) {
      n.Apply(SetCmd(KeyOfSlot(slot, kCount, i), "v" + std::to_string(i), 1));
    }
  }
  n.Apply(BeginExportCmd(6, 2));
  n.Apply(SetCmd(KeyOfSlot(2, kCount, 0), "changed", 2));
  n.Apply(FreezeCmd(6, 2));
  ASSERT_TRUE(n.Apply(ReleaseCmd(6, 2, 4)).status.ok());
  for (uint32_t slot = 0; slot < kCount; ++slot) {
    EXPECT_EQ(n.Dump(slot, kCount, 0).size(), slot == 2 ? 0u : 20u) << slot;
  }
  EXPECT_EQ(n.Read(KeyOfSlot(3, kCount, 19)).value, "v19");
  // The change set went too.
  std::unique_ptr<rocksdb::Iterator> it(
      n.engine->db()->NewIterator({}, n.engine->cf(Column::kSlots)));
  for (it->Seek(ChangeKeyPrefix(0)); it->Valid(); it->Next()) {
    ADD_FAILURE() << "change record left: " << it->key().ToString();
  }
}

TEST(SlotStateMachineTest, ImportMergesSessionsKeepingTheHigherSequence) {
  Node source;
  Node target;
  const uint32_t slot = 0;
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  target.Apply(AssignCmd(kCount, {1}, 1));
  std::string key = KeyOfSlot(slot, kCount, 0);
  std::string target_key = KeyOfSlot(1, kCount, 0);
  source.Apply(WithClient(SetCmd(key, "a", 1), 5, 3));  // older than target's
  source.Apply(WithClient(SetCmd(key, "b", 1), 6, 4));  // only on source
  target.Apply(WithClient(SetCmd(target_key, "t", 1), 5, 10));
  source.Apply(BeginExportCmd(2, slot));
  target.Apply(BeginImportCmd(2, slot, kCount));
  uint64_t as_of = CopyRound(source, target, 2, slot, 0).as_of;
  source.Apply(FreezeCmd(2, slot));
  RoundResult last = CopyRound(source, target, 2, slot, as_of);
  EXPECT_TRUE(last.frozen);
  target.Apply(ActivateCmd(2, slot));
  // Client 6's retry of sequence 4 gets the source's original answer.
  ApplyResult retry = target.Apply(WithClient(SetCmd(key, "b", 2), 6, 4));
  EXPECT_TRUE(retry.status.ok());
  EXPECT_EQ(retry.version, 2u);  // from the source, not applied again
  EXPECT_EQ(target.Read(key).version, 2u);
  // Client 5 kept sequence 10 (the higher one).
  ApplyResult old = target.Apply(WithClient(SetCmd(key, "x", 2), 5, 9));
  EXPECT_EQ(old.status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(old.status, "last applied 10")) << old.status.ToString();
}

TEST(SlotStateMachineTest, SnapshotsCarrySlotStatesAndChangeSets) {
  Node source;
  const uint32_t slot = 3;
  source.Apply(AssignCmd(kCount, {1, 3}, 7));
  source.Apply(SetCmd(KeyOfSlot(slot, kCount, 0), "v", 1));
  source.Apply(BeginExportCmd(11, slot));
  source.Apply(SetCmd(KeyOfSlot(slot, kCount, 1), "w", 2));
  source.Apply(DelCmd(KeyOfSlot(slot, kCount, 0), 2));

  Node copy;
  copy.Apply(AssignCmd(kCount, {0}, 1));  // replaced by the image
  auto image = source.sm->OpenSnapshot();
  auto sink = copy.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  while (image->NextChunk(1 << 20, &chunk)) ASSERT_TRUE(sink->Add(chunk).ok());
  ASSERT_TRUE(sink->Finish(image->state()).ok());

  SlotTable table = copy.sm->Slots();
  EXPECT_EQ(table.config.epoch, 7u);
  EXPECT_EQ(table.Get(0).state, SlotState::kNotOwned);
  EXPECT_EQ(table.Get(1).state, SlotState::kOwned);
  EXPECT_EQ(table.Get(slot).state, SlotState::kExporting);
  EXPECT_EQ(table.Get(slot).migration_id, 11u);
  auto exported = copy.sm->ExportSlot(11, slot, 0);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ((*exported)->changed_keys(), 2u);
  internal::ExportChunk out;
  std::map<std::string, bool> deleted;
  while ((*exported)->NextChunk(1 << 20, &out)) {
    for (const auto& r : out.records()) deleted[r.key()] = r.deleted();
  }
  EXPECT_EQ(deleted.size(), 2u);
  EXPECT_TRUE(deleted[KeyOfSlot(slot, kCount, 0)]);
  EXPECT_FALSE(deleted[KeyOfSlot(slot, kCount, 1)]);
  // Survives a restart of the copy, too.
  exported->reset();
  copy.Open();
  EXPECT_EQ(copy.StateOf(slot), SlotState::kExporting);
}

}  // namespace
}  // namespace shardkv::storage
