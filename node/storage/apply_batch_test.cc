// The apply batch's two modes: a plain WriteBatch for Set/Delete, indexed
// from the first slot command on. Commands after the switch must see
// everything written before it in the same batch, exactly as if each entry
// had been applied and committed alone.
#include <gtest/gtest.h>

#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr uint32_t kCount = 4;

TEST(ApplyBatchTest, SlotCommandSeesDataWrittenEarlierInItsEntry) {
  Node n;
  const std::string key = KeyOfSlot(2, kCount, 0);
  // One entry: the Set is in the plain batch when the Assign indexes it,
  // and Assign must find the key it would strand.
  auto out = n.Apply({SetCmd(key, "v", 1), AssignCmd(kCount, {0, 1}, 1)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[1].status.code(), Code::kFailedPrecondition)
      << out[1].status.ToString();
  EXPECT_FALSE(n.sm->Slots().config.sharded);
  // A delete in the same entry before the Assign unstrands it.
  out = n.Apply({DelCmd(key, 1), AssignCmd(kCount, {0, 1}, 1)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].deleted);
  EXPECT_TRUE(out[1].status.ok()) << out[1].status.ToString();
}

// Writes and sessions before and after a slot command in one batch give
// the same results and the same stored bytes as entry-by-entry applies.
TEST(ApplyBatchTest, OneBatchAcrossASlotCommandEqualsEntryByEntry) {
  const std::string a = KeyOfSlot(0, kCount, 0);
  const std::string b = KeyOfSlot(1, kCount, 0);
  const int64_t hour = 3600 * 1000;
  std::vector<raft::Entry> entries;
  raft::Index i = 1;
  auto add = [&](std::vector<internal::Command> cmds) {
    entries.push_back(CommandEntry(i++, 1, std::move(cmds)));
  };
  add({WithClient(SetCmd(a, "1", 1000), 1, 1),
       WithClient(SetCmd(b, "1", 1000), 2, 1)});
  add({WithClient(SetCmd(a, "2", 2000), 1, 2), DelCmd(b, 2000)});
  // Retried in the plain part: de-duplicated from the staged session.
  add({WithClient(SetCmd(a, "x", 2000), 1, 2)});
  add({WithClient(SetCmd(a, "3", 3000), 3, 1), AssignCmd(kCount, {0, 1}, 1),
       WithClient(SetCmd(a, "4", 3000), 1, 3),
       WithClient(SetCmd(a, "x", 3000), 3, 1)});  // retried after the switch
  add({WithClient(SetCmd(b, "2", 4000), 2, 2)});
  // Past an hour: the sweeps (every 16 indexes) drop idle sessions.
  for (int k = 0; k < 40; ++k) {
    add({WithClient(SetCmd(b, "t", 2 * hour + k), 4 + k % 3, 1 + k)});
  }
  add({WithClient(SetCmd(a, "again", 2 * hour), 1, 2)});

  Node one;
  Node each;
  std::vector<std::vector<ApplyResult>> one_out;
  ASSERT_TRUE(one.sm->ApplyEntries(entries, &one_out).ok());
  std::vector<std::vector<ApplyResult>> each_out;
  for (const raft::Entry& e : entries) {
    std::vector<std::vector<ApplyResult>> out;
    ASSERT_TRUE(each.sm->ApplyEntries({e}, &out).ok());
    each_out.push_back(out[0]);
  }
  ASSERT_EQ(one_out.size(), each_out.size());
  for (size_t e = 0; e < one_out.size(); ++e) {
    ASSERT_EQ(one_out[e].size(), each_out[e].size());
    for (size_t c = 0; c < one_out[e].size(); ++c) {
      EXPECT_EQ(one_out[e][c].status.ToString(),
                each_out[e][c].status.ToString())
          << e << "/" << c;
      EXPECT_EQ(one_out[e][c].version, each_out[e][c].version) << e << "/" << c;
    }
  }
  EXPECT_EQ(one_out[0][0].version, 1u);
  EXPECT_EQ(one_out[2][0].version, 2u);  // the retry answers as before
  EXPECT_EQ(one_out[3][2].version, 4u);
  EXPECT_EQ(one_out[3][3].version, 3u);      // de-duplicated: not applied
  EXPECT_EQ(one_out.back()[0].version, 5u);  // client 1's session expired

  auto dump = [](Engine* engine, Column column) {
    std::vector<std::pair<std::string, std::string>> rows;
    std::unique_ptr<rocksdb::Iterator> it(
        engine->db()->NewIterator({}, engine->cf(column)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return rows;
  };
  for (Column column : {Column::kData, Column::kSessions, Column::kSlots}) {
    EXPECT_EQ(dump(one.engine.get(), column), dump(each.engine.get(), column))
        << "column " << static_cast<int>(column);
  }
}

}  // namespace
}  // namespace shardkv::storage
