// Bulk imports applied as ingested files (slot_ingest.h): the data reads
// back as the batch path would have written it, whatever the commands
// around the import in its entry and apply batch, and replicas that group
// the same entries into different apply batches end identical.
#include "node/storage/slot_ingest.h"

#include <gtest/gtest.h>
#include <rocksdb/metadata.h>

#include <filesystem>
#include <vector>

#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr uint32_t kCount = 16;
constexpr uint32_t kSlot = 3;
constexpr uint64_t kId = 7;

// n records of `slot` ("bulk-<i>" keys of the slot), big enough together
// to take the file path; versions start at `version`.
internal::Command BulkImport(int n, uint64_t version, char fill,
                             size_t value_bytes = 16 << 10) {
  internal::SlotCommand s;
  auto* import = s.mutable_import_records();
  import->set_migration_id(kId);
  import->set_slot(kSlot);
  for (int i = 0; i < n; ++i) {
    internal::SlotRecord* r = import->add_records();
    r->set_key(KeyOfSlot(kSlot, kCount, i, "bulk"));
    r->set_value(std::string(value_bytes, fill));
    r->set_version(version + i);
  }
  return SlotCmd(std::move(s));
}

internal::Command SmallImport(const std::string& key, const std::string& value,
                              uint64_t version, bool deleted = false) {
  internal::SlotCommand s;
  auto* import = s.mutable_import_records();
  import->set_migration_id(kId);
  import->set_slot(kSlot);
  internal::SlotRecord* r = import->add_records();
  r->set_key(key);
  r->set_value(value);
  r->set_version(version);
  r->set_deleted(deleted);
  return SlotCmd(std::move(s));
}

uint64_t MemtableBytes(Node& node) {
  uint64_t bytes = 0;
  node.engine->db()->GetIntProperty(
      node.engine->cf(Column::kData),
      rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes);
  return bytes;
}

// Applies each command list as one entry, all entries in one apply batch.
void ApplyAll(Node& node,
              const std::vector<std::vector<internal::Command>>& entries) {
  std::vector<raft::Entry> log;
  raft::Index index = node.sm->applied().index;
  for (const auto& cmds : entries)
    log.push_back(CommandEntry(++index, 1, cmds));
  std::vector<std::vector<ApplyResult>> out;
  Status s = node.sm->ApplyEntries(log, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& results : out) {
    for (const ApplyResult& r : results) {
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    }
  }
}

int LeftoverFiles(Node& node) {
  int n = 0;
  for (const auto& f : std::filesystem::directory_iterator(node.dir.path())) {
    if (f.path().filename().string().rfind("slot-import-", 0) == 0) ++n;
  }
  return n;
}

TEST(SlotIngestTest, ABulkImportIsIngestedNotWrittenThroughTheMemtable) {
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  const uint64_t before = MemtableBytes(node);
  node.Apply(BulkImport(64, 10, 'a'));  // 1 MiB of values
  // The values went into a file: the memtable grew by far less than 1 MiB.
  // (It may also have shrunk: the BeginImport range deletion in it
  // overlaps the file, so RocksDB flushed it first.)
  EXPECT_LT(MemtableBytes(node), before + (128u << 10));
  EXPECT_EQ(LeftoverFiles(node), 0);
  node.Apply(ActivateCmd(kId, kSlot));
  for (int i = 0; i < 64; ++i) {
    ReadResult r = node.Read(KeyOfSlot(kSlot, kCount, i, "bulk"));
    ASSERT_TRUE(r.found) << i;
    EXPECT_EQ(r.value, std::string(16 << 10, 'a'));
    EXPECT_EQ(r.version, 10u + i);
  }
}

TEST(SlotIngestTest, AnIngestOverlappingTheMemtableFlushesEveryColumnFamily) {
  // The state machine writes without WAL: a flush of the data column
  // family alone would leave data on disk that the durable applied record
  // does not cover (replayed twice after a crash).
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  node.Apply(SmallImport(KeyOfSlot(kSlot, kCount, 0, "bulk"), "s", 1));
  const raft::Index before = node.sm->applied().index;
  auto durable = node.sm->DurableApplied();
  ASSERT_TRUE(durable.ok());
  ASSERT_LT(*durable, before);  // the small import is only in memtables
  const uint64_t flushes = node.engine->flushes_completed();
  node.Apply(BulkImport(32, 10, 'f'));  // overlaps the memtable's key
  EXPECT_GT(node.engine->flushes_completed(), flushes);
  durable = node.sm->DurableApplied();
  ASSERT_TRUE(durable.ok());
  EXPECT_EQ(*durable, before);  // meta was flushed with data, at one point
  node.Apply(ActivateCmd(kId, kSlot));
  ReadResult r = node.Read(KeyOfSlot(kSlot, kCount, 0, "bulk"));
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.version, 10u);
}

// Files of the data column family per level, from level 0.
std::vector<size_t> FilesPerLevel(Node& node) {
  rocksdb::ColumnFamilyMetaData meta;
  node.engine->db()->GetColumnFamilyMetaData(node.engine->cf(Column::kData),
                                             &meta);
  std::vector<size_t> out;
  for (const auto& level : meta.levels) out.push_back(level.files.size());
  return out;
}

TEST(SlotIngestTest, ABulkImportIntoAnEmptyShardLandsInTheLastLevel) {
  // BeginImport of a slot the shard never held writes no range deletion,
  // so the files overlap nothing and skip every compaction.
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  node.Apply(BulkImport(32, 1, 'h'));
  std::vector<size_t> files = FilesPerLevel(node);
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front(), 0u);  // nothing in level 0
  EXPECT_EQ(files.back(), 1u);   // the one file, at the last level
}

TEST(SlotIngestTest, BeginImportStillDropsLeftoversOfAnOlderAttempt) {
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  node.Apply(BulkImport(32, 1, 'i'));
  node.Apply(SmallImport(KeyOfSlot(kSlot, kCount, 0, "small"), "s", 1));
  // A newer attempt of the slot starts over: nothing of the old one stays.
  node.Apply(BeginImportCmd(kId + 1, kSlot, kCount));
  EXPECT_TRUE(node.Dump(kSlot, kCount, 0).empty());
}

TEST(SlotIngestTest, BeginImportAmongOtherSlotsKeysDropsOnlyLeftovers) {
  // The shard holds keys of slots 0-2 (prefixes interleaved with slot
  // 3's): slot 3's first import finds nothing to drop, a newer attempt
  // drops what the first left, and the other slots keep their keys.
  Node node;
  node.Apply(AssignCmd(kCount, {0, 1, 2}, 1));
  std::vector<std::string> others;
  for (uint32_t slot = 0; slot < 3; ++slot) {
    for (int i = 0; i < 20; ++i) {
      others.push_back(KeyOfSlot(slot, kCount, i, "other"));
      node.Apply(SetCmd(others.back(), "o", 1));
    }
  }
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  node.Apply(BulkImport(32, 1, 'j'));
  EXPECT_EQ(node.Dump(kSlot, kCount, 0).size(), 32u);
  node.Apply(BeginImportCmd(kId + 1, kSlot, kCount));
  EXPECT_TRUE(node.Dump(kSlot, kCount, 0).empty());
  for (const std::string& key : others) {
    EXPECT_EQ(node.Read(key).value, "o") << key;
  }
}

TEST(SlotIngestTest, TombstonesAndRepeatedKeysActAsInABatch) {
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  const std::string gone = KeyOfSlot(kSlot, kCount, 0, "old");
  node.Apply(SmallImport(gone, "x", 1));
  internal::Command bulk = BulkImport(32, 100, 'b');
  auto* records = bulk.mutable_slot()->mutable_import_records();
  internal::SlotRecord* del = records->add_records();
  del->set_key(gone);
  del->set_deleted(true);
  // The same key twice: the later record wins.
  internal::SlotRecord* again = records->add_records();
  again->set_key(KeyOfSlot(kSlot, kCount, 5, "bulk"));
  again->set_value("later");
  again->set_version(999);
  node.Apply(bulk);
  node.Apply(ActivateCmd(kId, kSlot));
  EXPECT_FALSE(node.Read(gone).found);
  ReadResult r = node.Read(KeyOfSlot(kSlot, kCount, 5, "bulk"));
  EXPECT_EQ(r.value, "later");
  EXPECT_EQ(r.version, 999u);
}

TEST(SlotIngestTest, EarlierWritesOfTheSlotInTheEntryKeepTheirOrder) {
  // BeginImport drops the slot's data and a small import writes a key,
  // both in the bulk import's own entry: the bulk chunk must land after
  // them, as the batch would apply it (so it takes the batch path).
  Node node;
  const std::string key = KeyOfSlot(kSlot, kCount, 0, "bulk");
  ApplyAll(node, {{BeginImportCmd(kId, kSlot, kCount),
                   SmallImport(key, "small", 1), BulkImport(32, 50, 'c')}});
  node.Apply(ActivateCmd(kId, kSlot));
  ReadResult r = node.Read(key);
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.value, std::string(16 << 10, 'c'));
  EXPECT_EQ(r.version, 50u);
  EXPECT_EQ(node.Dump(kSlot, kCount, 0).size(), 32u);
}

TEST(SlotIngestTest, LaterWritesInTheSameApplyBatchSeeTheIngestedRecords) {
  // One apply batch: the bulk import, a small import overwriting one of
  // its keys, the activation and a Set of another of its keys. The Set's
  // version follows the imported one, so the file was in the DB before
  // the later entries read it.
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  const std::string overwritten = KeyOfSlot(kSlot, kCount, 1, "bulk");
  const std::string set = KeyOfSlot(kSlot, kCount, 2, "bulk");
  ApplyAll(node, {{BulkImport(32, 40, 'd')},
                  {SmallImport(overwritten, "newer", 500)},
                  {ActivateCmd(kId, kSlot)},
                  {SetCmd(set, "client", 1000)}});
  EXPECT_EQ(node.Read(overwritten).value, "newer");
  ReadResult r = node.Read(set);
  EXPECT_EQ(r.value, "client");
  EXPECT_EQ(r.version, 43u);  // imported at 42, then one Set
  EXPECT_EQ(LeftoverFiles(node), 0);
}

TEST(SlotIngestTest, ReplicasBatchingDifferentlyEndIdentical) {
  std::vector<std::vector<internal::Command>> log = {
      {BeginImportCmd(kId, kSlot, kCount)},
      {BulkImport(40, 1, 'e')},
      {SmallImport(KeyOfSlot(kSlot, kCount, 25, "bulk"), "", 0, true)},
      {BulkImport(20, 200, 'f', 32 << 10)},
      {ActivateCmd(kId, kSlot)},
      {SetCmd(KeyOfSlot(kSlot, kCount, 30, "bulk"), "s", 1000)}};
  Node one_by_one;
  for (const auto& cmds : log) one_by_one.Apply(cmds);
  Node all_at_once;
  ApplyAll(all_at_once, log);
  Node::Records a = one_by_one.Dump(kSlot, kCount, 0);
  EXPECT_EQ(a, all_at_once.Dump(kSlot, kCount, 0));
  EXPECT_EQ(a.size(), 39u);  // 40 imported, one deleted
  // And after a reopen (what a restarted replica reads).
  all_at_once.Open();
  EXPECT_EQ(a, all_at_once.Dump(kSlot, kCount, 0));
}

TEST(SlotIngestTest, AnImportAppliedAgainGivesTheSameData) {
  // A crash between the ingest and the batch write replays the entry:
  // the same records again, then the entries after it.
  Node node;
  node.Apply(BeginImportCmd(kId, kSlot, kCount));
  node.Apply(BulkImport(32, 7, 'g'));
  Node::Records first = node.Dump(kSlot, kCount, 0);
  node.Apply(BulkImport(32, 7, 'g'));
  EXPECT_EQ(first, node.Dump(kSlot, kCount, 0));
  EXPECT_EQ(first.size(), 32u);
}

}  // namespace
}  // namespace shardkv::storage
