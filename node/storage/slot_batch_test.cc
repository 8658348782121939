// Batch slot commands (`slots` on a migration step, docs/sharding.md): one
// command moves every slot of a batch through a step, an export round
// covers the batch from one image, and an import takes records of any of
// its slots. Each slot keeps its per-slot rules.
#include <gtest/gtest.h>

#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr uint32_t kCount = 8;

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

// `command` (a migration step) for every slot of `slots`.
internal::Command Batch(internal::Command command,
                        const std::vector<uint32_t>& slots) {
  internal::SlotCommand* s = command.mutable_slot();
  auto add = [&](auto* step) {
    for (uint32_t slot : slots) step->add_slots(slot);
  };
  switch (s->op_case()) {
    case internal::SlotCommand::kBeginImport:
      add(s->mutable_begin_import());
      break;
    case internal::SlotCommand::kBeginExport:
      add(s->mutable_begin_export());
      break;
    case internal::SlotCommand::kFreeze:
      add(s->mutable_freeze());
      break;
    case internal::SlotCommand::kActivate:
      add(s->mutable_activate());
      break;
    case internal::SlotCommand::kRelease:
      add(s->mutable_release());
      break;
    case internal::SlotCommand::kAbort:
      add(s->mutable_abort());
      break;
    default:
      ADD_FAILURE() << "not a batch step";
  }
  return command;
}

// One round over the batch, one ImportRecords (with `slots`) per chunk.
RoundResult CopyBatchRound(Node& from, Node& to, uint64_t id,
                           const std::vector<uint32_t>& slots, uint64_t after,
                           uint64_t chunk_bytes = 128) {
  RoundResult round;
  auto image = from.sm->ExportSlots(id, slots, after);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  if (!image.ok()) return round;
  internal::ExportChunk chunk;
  while ((*image)->NextChunk(chunk_bytes, &chunk)) {
    if (round.chunks++ == 0) round.changed = chunk.changed_keys();
    round.as_of = chunk.as_of_index();
    round.frozen = chunk.frozen();
    internal::SlotCommand cmd;
    auto* import = cmd.mutable_import_records();
    import->set_migration_id(id);
    for (uint32_t slot : slots) import->add_slots(slot);
    *import->mutable_records() = chunk.records();
    *import->mutable_sessions() = chunk.sessions();
    ApplyResult r = to.Apply(SlotCmd(std::move(cmd)));
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  }
  EXPECT_TRUE((*image)->status().ok()) << (*image)->status().ToString();
  return round;
}

TEST(SlotBatchTest, ABatchMovesWithOneCommandPerStep) {
  Node source;
  Node target;
  const std::vector<uint32_t> batch = {1, 2, 5};
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3, 4, 5, 6, 7}, 1));
  target.Apply(AssignCmd(kCount, {3}, 1));
  // Several keys per slot, one with a TTL, written twice (version 2).
  for (uint32_t slot : {0u, 1u, 2u, 5u}) {
    for (int i = 0; i < 5; ++i) {
      std::string key = KeyOfSlot(slot, kCount, i);
      source.Apply(SetCmd(key, "old", 1));
      const int64_t expiry = i == 0 ? int64_t{1'000'000'000'000} : 0;
      source.Apply(
          WithClient(SetCmd(key, "v-" + key, 1, expiry), 7, slot * 10 + i + 1));
    }
  }
  ApplyResult r = target.Apply(Batch(BeginImportCmd(4, 1, kCount, 2), batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  r = source.Apply(Batch(BeginExportCmd(4, 1, 2), batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  for (uint32_t slot : batch) {
    EXPECT_EQ(target.StateOf(slot), SlotState::kImporting) << slot;
    EXPECT_EQ(source.StateOf(slot), SlotState::kExporting) << slot;
  }
  EXPECT_EQ(source.StateOf(0), SlotState::kOwned);

  // Bulk round in small chunks (several slots per chunk and across).
  RoundResult bulk = CopyBatchRound(source, target, 4, batch, 0);
  EXPECT_GT(bulk.chunks, 4);  // 15 records of ~60 bytes
  EXPECT_FALSE(bulk.frozen);
  // Changes during the copy: one in each slot, a delete among them.
  source.Apply(SetCmd(KeyOfSlot(1, kCount, 1), "changed", 2));
  source.Apply(DelCmd(KeyOfSlot(2, kCount, 2), 2));
  source.Apply(SetCmd(KeyOfSlot(5, kCount, 7), "new key", 2));
  RoundResult catch_up = CopyBatchRound(source, target, 4, batch, bulk.as_of);
  EXPECT_EQ(catch_up.changed, 3u);

  r = source.Apply(Batch(FreezeCmd(4, 1), batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  RoundResult last = CopyBatchRound(source, target, 4, batch, catch_up.as_of);
  EXPECT_TRUE(last.frozen);
  EXPECT_EQ(last.changed, 0u);
  r = target.Apply(Batch(ActivateCmd(4, 1, 3), batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();

  for (uint32_t slot : batch) {
    EXPECT_EQ(target.StateOf(slot), SlotState::kOwned) << slot;
    // Values, versions and expiries as on the source.
    EXPECT_EQ(target.Dump(slot, kCount, 2), source.Dump(slot, kCount, 2))
        << "slot " << slot;
  }
  EXPECT_FALSE(target.Read(KeyOfSlot(2, kCount, 2)).found);
  EXPECT_EQ(target.Read(KeyOfSlot(1, kCount, 1)).value, "changed");
  EXPECT_TRUE(target.Dump(0, kCount, 2).empty());  // not in the batch
  // The sessions came along: client 7's retry of its last write (slot 5's
  // fifth key, sequence 55) gets its original answer, not applied again.
  std::string key = KeyOfSlot(5, kCount, 4);
  ApplyResult retry = target.Apply(WithClient(SetCmd(key, "x", 3), 7, 55));
  EXPECT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_EQ(target.Read(key).value, "v-" + key);

  r = source.Apply(Batch(ReleaseCmd(4, 1, 3), batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  for (uint32_t slot : batch) {
    EXPECT_EQ(source.StateOf(slot), SlotState::kNotOwned) << slot;
    EXPECT_TRUE(source.Dump(slot, kCount, 2).empty()) << slot;
  }
  EXPECT_EQ(source.Dump(0, kCount, 2).size(), 5u);  // not in the batch
  // Every step again: a no-op for each slot.
  EXPECT_TRUE(source.Apply(Batch(ReleaseCmd(4, 1), batch)).status.ok());
  EXPECT_TRUE(target.Apply(Batch(ActivateCmd(4, 1), batch)).status.ok());
  EXPECT_TRUE(
      target.Apply(Batch(BeginImportCmd(4, 1, kCount), batch)).status.ok());
}

TEST(SlotBatchTest, ABatchStepStopsAtTheFirstMisfitAndARepeatFinishesIt) {
  Node source;
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  source.Apply(BeginExportCmd(4, 1));  // slot 2 is not exporting yet
  ApplyResult r = source.Apply(Batch(FreezeCmd(4, 1), {1, 2, 3}));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(r.status, "slot 2 is OWNED")) << r.status.ToString();
  EXPECT_EQ(source.StateOf(1), SlotState::kFrozen);  // done before slot 2
  EXPECT_EQ(source.StateOf(3), SlotState::kOwned);   // not reached
  // An out-of-range slot anywhere in the batch: nothing happens.
  r = source.Apply(Batch(BeginExportCmd(4, 2), {2, 3, kCount}));
  EXPECT_EQ(r.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(source.StateOf(2), SlotState::kOwned);
  ASSERT_TRUE(source.Apply(Batch(BeginExportCmd(4, 2), {2, 3})).status.ok());
  r = source.Apply(Batch(FreezeCmd(4, 1), {1, 2, 3}));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  for (uint32_t slot : {1u, 2u, 3u}) {
    EXPECT_EQ(source.StateOf(slot), SlotState::kFrozen) << slot;
  }
}

TEST(SlotBatchTest, ImportTakesOnlyKeysOfTheBatch) {
  Node target;
  target.Apply(Batch(BeginImportCmd(4, 1, kCount), {1, 2}));
  auto import_of = [](const std::vector<std::string>& keys) {
    internal::SlotCommand cmd;
    auto* import = cmd.mutable_import_records();
    import->set_migration_id(4);
    import->add_slots(1);
    import->add_slots(2);
    for (const std::string& key : keys) {
      internal::SlotRecord* rec = import->add_records();
      rec->set_key(key);
      rec->set_value("v");
      rec->set_version(3);
    }
    return SlotCmd(std::move(cmd));
  };
  const std::string in_batch = KeyOfSlot(1, kCount, 0);
  ApplyResult r = target.Apply(import_of({in_batch, KeyOfSlot(3, kCount, 0)}));
  EXPECT_EQ(r.status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(target.Dump(1, kCount, 0).empty());  // all or nothing
  // Slot 1 activated already: its records are skipped, slot 2's taken.
  ASSERT_TRUE(target.Apply(ActivateCmd(4, 1)).status.ok());
  target.Apply(SetCmd(in_batch, "newer", 5));
  r = target.Apply(import_of({in_batch, KeyOfSlot(2, kCount, 0)}));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(target.Read(in_batch).value, "newer");
  target.Apply(ActivateCmd(4, 2));
  EXPECT_EQ(target.Read(KeyOfSlot(2, kCount, 0)).version, 3u);
  // A slot of another migration in the batch: refused.
  target.Apply(BeginImportCmd(5, 3, kCount));
  r = target.Apply(Batch(ActivateCmd(4, 2), {2, 3}));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
}

TEST(SlotBatchTest, ARoundIsFrozenOnlyWhenEverySlotIs) {
  Node source;
  source.Apply(AssignCmd(kCount, {0, 1, 2, 3}, 1));
  source.Apply(SetCmd(KeyOfSlot(1, kCount, 0), "v", 1));
  source.Apply(Batch(BeginExportCmd(4, 1), {1, 2}));
  source.Apply(FreezeCmd(4, 1));
  auto image = source.sm->ExportSlots(4, {1, 2}, 0);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_FALSE((*image)->frozen());
  source.Apply(FreezeCmd(4, 2));
  image = source.sm->ExportSlots(4, {1, 2}, 0);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_TRUE((*image)->frozen());
  // A slot of the batch not exported for this migration: refused.
  auto refused = source.sm->ExportSlots(4, {1, 3}, 0);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Mentions(refused.status(), "slot 3"))
      << refused.status().ToString();
  EXPECT_EQ(source.sm->ExportSlots(4, {}, 0).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace shardkv::storage
