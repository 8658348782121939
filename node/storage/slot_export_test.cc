// Export rounds under concurrent writes: after the final (frozen) round
// the target holds exactly the source's records of the slot.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "node/storage/slot_ingest.h"
#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr uint32_t kCount = 8;
constexpr uint32_t kSlot = 5;

// Random sets (some with TTLs, some expiring during the test), deletes and
// conditional writes over keys of every slot, one entry at a time.
class RandomWriter {
 public:
  RandomWriter(Node* node, uint32_t seed) : node_(node), rng_(seed) {}

  void Step(int64_t now_ms) {
    std::vector<internal::Command> batch;
    for (int i = 0; i < 8; ++i) {
      std::string key = KeyOfSlot(rng_() % kCount, kCount, rng_() % 40);
      switch (rng_() % 6) {
        case 0:
          batch.push_back(DelCmd(key, now_ms));
          break;
        case 1:
          batch.push_back(SetCmd(key, "ttl" + std::to_string(rng_()), now_ms,
                                 now_ms + 1 + rng_() % 30));
          break;
        case 2: {
          auto c = SetCmd(key, "if-absent", now_ms);
          c.mutable_set()->set_if_absent(true);
          batch.push_back(c);
          break;
        }
        default:
          batch.push_back(SetCmd(
              key, std::string(rng_() % 300, 'x') + std::to_string(rng_()),
              now_ms));
      }
    }
    node_->Apply(batch);
  }

 private:
  Node* node_;
  std::mt19937 rng_;
};

TEST(SlotExportTest, RoundsUnderConcurrentWritesConverge) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Node source;
    Node target;
    source.Apply(AssignCmd(kCount, {0, 1, 2, 3, 4, 5, 6, 7}, 1));
    RandomWriter writer(&source, seed);
    int64_t clock = 1000;
    for (int i = 0; i < 200; ++i) writer.Step(++clock);
    ASSERT_TRUE(source.Apply(BeginExportCmd(seed, kSlot, 2)).status.ok());
    ASSERT_TRUE(
        target.Apply(BeginImportCmd(seed, kSlot, kCount, 2)).status.ok());

    // Writes keep landing on the source while rounds are read from it.
    std::atomic<bool> stop{false};
    std::atomic<int64_t> writer_clock{clock};
    std::thread background([&] {
      while (!stop) writer.Step(++writer_clock);
    });
    uint64_t after = 0;
    for (int round = 0; round < 4; ++round) {
      RoundResult r = CopyRound(source, target, seed, kSlot, after,
                                /*chunk_bytes=*/2048);
      EXPECT_FALSE(r.frozen);
      EXPECT_GE(r.chunks, 1);
      EXPECT_GE(r.as_of, after);
      after = r.as_of;
    }
    stop = true;
    background.join();
    clock = writer_clock;
    ASSERT_TRUE(source.Apply(FreezeCmd(seed, kSlot)).status.ok());
    // Writes after the freeze are refused and change nothing.
    for (int i = 0; i < 20; ++i) writer.Step(++clock);
    RoundResult last = CopyRound(source, target, seed, kSlot, after);
    EXPECT_TRUE(last.frozen);
    ASSERT_TRUE(target.Apply(ActivateCmd(seed, kSlot, 3)).status.ok());

    auto expected = source.Dump(kSlot, kCount, clock);
    auto actual = target.Dump(kSlot, kCount, clock);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(actual, expected);
    // Other slots never reach the target.
    for (uint32_t slot = 0; slot < kCount; ++slot) {
      if (slot != kSlot) {
        EXPECT_TRUE(target.Dump(slot, kCount, 0).empty());
      }
    }
    // The target now serves the slot with the same versions.
    for (const auto& [key, record] : expected) {
      ReadResult r = target.Read(key, clock);
      EXPECT_TRUE(r.found) << key;
      EXPECT_EQ(r.version, std::get<1>(record)) << key;
    }
  }
}

TEST(SlotExportTest, RoundReportsOnlyKeysChangedAfterIndex) {
  Node source;
  source.Apply(AssignCmd(kCount, {kSlot}, 1));
  for (int i = 0; i < 10; ++i) {
    source.Apply(SetCmd(KeyOfSlot(kSlot, kCount, i), "v", 1));
  }
  source.Apply(BeginExportCmd(1, kSlot));
  source.Apply(SetCmd(KeyOfSlot(kSlot, kCount, 0), "w", 2));
  uint64_t mark = source.sm->applied().index;
  source.Apply(SetCmd(KeyOfSlot(kSlot, kCount, 1), "w", 3));
  source.Apply(DelCmd(KeyOfSlot(kSlot, kCount, 2), 3));

  auto all = source.sm->ExportSlot(1, kSlot, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)->changed_keys(), 3u);
  EXPECT_FALSE((*all)->frozen());
  int live = 0;
  int tombstones = 0;
  internal::ExportChunk chunk;
  while ((*all)->NextChunk(1 << 20, &chunk)) {
    for (const auto& r : chunk.records()) (r.deleted() ? tombstones : live)++;
    EXPECT_EQ(chunk.sessions_size(), 0);
  }
  EXPECT_EQ(live, 9);
  EXPECT_EQ(tombstones, 1);

  auto since = source.sm->ExportSlot(1, kSlot, mark);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ((*since)->changed_keys(), 2u);
  EXPECT_EQ((*since)->as_of_index(), source.sm->applied().index);
  std::map<std::string, bool> seen;
  while ((*since)->NextChunk(1 << 20, &chunk)) {
    for (const auto& r : chunk.records()) seen[r.key()] = r.deleted();
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen.at(KeyOfSlot(kSlot, kCount, 1)));
  EXPECT_TRUE(seen.at(KeyOfSlot(kSlot, kCount, 2)));
  // Not exporting this migration: refused with the state.
  auto wrong = source.sm->ExportSlot(2, kSlot, 0);
  EXPECT_EQ(wrong.status().code(), Code::kFailedPrecondition);
}

TEST(SlotExportTest, AChunkBigEnoughToIngestEndsWithItsKeyRange) {
  // 4096 slots: a slot is 16 key ranges (one per 2-byte prefix cycle);
  // 20 values of 16 KiB in each make ranges of ~320 KiB. A 1 MiB chunk
  // may run on into the next range only while it is under
  // kIngestMinBytes: a file the target ingests covers one range.
  constexpr uint32_t kSlots = 4096;
  Node node;
  node.Apply(AssignCmd(kSlots, {kSlot}, 1));
  std::map<uint16_t, int> per_prefix;
  std::vector<internal::Command> sets;
  for (int i = 0; sets.size() < 16u * 20u; ++i) {
    std::string key = "k-" + std::to_string(i);
    if (SlotOf(key, kSlots) != kSlot) continue;
    if (per_prefix[DataKeyPrefix(DataKey(key))]++ >= 20) continue;
    sets.push_back(SetCmd(key, std::string(16 << 10, 'v'), 1));
  }
  for (size_t i = 0; i < sets.size(); i += 16) {
    node.Apply(std::vector<internal::Command>(
        sets.begin() + i, sets.begin() + std::min(i + 16, sets.size())));
  }
  node.Apply(BeginExportCmd(9, kSlot));
  auto image = node.sm->ExportSlot(9, kSlot, 0);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  internal::ExportChunk chunk;
  size_t records = 0;
  int cut_at_range_end = 0;
  while ((*image)->NextChunk(1 << 20, &chunk)) {
    uint64_t bytes = 0;
    for (int i = 0; i < chunk.records_size(); ++i) {
      const std::string& key = chunk.records(i).key();
      if (i > 0 && DataKeyPrefix(DataKey(key)) !=
                       DataKeyPrefix(DataKey(chunk.records(i - 1).key()))) {
        EXPECT_LT(bytes, kIngestMinBytes) << "a chunk ran on into a range";
      }
      bytes += key.size() + chunk.records(i).value().size();
    }
    records += chunk.records_size();
    if (bytes < (1 << 20) - (32 << 10) && chunk.records_size() > 0) {
      ++cut_at_range_end;
    }
  }
  EXPECT_TRUE((*image)->status().ok());
  EXPECT_EQ(records, sets.size());
  EXPECT_GE(cut_at_range_end, 8);
}

}  // namespace
}  // namespace shardkv::storage
