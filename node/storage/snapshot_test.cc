// Snapshot streaming from one engine into another, and install safety.
#include <gtest/gtest.h>

#include <filesystem>

#include "node/storage/state_machine.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

using testing::CommandEntry;
using testing::SetCmd;
using testing::TempDir;
using testing::WithClient;

struct Replica {
  TempDir dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<StateMachine> sm;

  Replica() { Open(); }
  void Open() {
    sm.reset();
    engine.reset();
    auto opened = Engine::Open(dir.path(), {});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine = std::move(*opened);
    sm = std::make_unique<StateMachine>(engine.get());
    ASSERT_TRUE(sm->Load().ok());
  }
  void Apply(const std::vector<internal::Command>& commands) {
    std::vector<ApplyResult> out;
    raft::Index index = sm->applied().index + 1;
    ASSERT_TRUE(sm->ApplyEntry(CommandEntry(index, 2, commands), &out).ok());
  }
  // Every pair of a column family, for comparison.
  std::vector<std::pair<std::string, std::string>> Dump(Column column) {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(
        engine->db()->NewIterator({}, engine->cf(column)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return out;
  }
};

// Streams `from` into `to`; returns the number of chunks.
int Transfer(Replica& from, Replica& to, uint64_t chunk_bytes) {
  auto source = from.sm->OpenSnapshot();
  auto sink = to.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  int chunks = 0;
  while (source->NextChunk(chunk_bytes, &chunk)) {
    EXPECT_TRUE(sink->Add(chunk).ok());
    ++chunks;
  }
  EXPECT_TRUE(source->status().ok()) << source->status().ToString();
  Status s = sink->Finish(source->state());
  EXPECT_TRUE(s.ok()) << s.ToString();
  return chunks;
}

void Fill(Replica& r, int keys, const std::string& prefix) {
  for (int i = 0; i < keys; i += 10) {
    std::vector<internal::Command> batch;
    for (int j = i; j < i + 10 && j < keys; ++j) {
      batch.push_back(WithClient(
          SetCmd(prefix + std::to_string(j), std::string(64, 'a' + j % 26),
                 1000 + j, j % 3 == 0 ? 5000 + j : 0),
          100 + j % 7, j + 1));
    }
    r.Apply(batch);
  }
}

TEST(SnapshotTest, RoundTripCopiesDataVersionsTtlSessions) {
  Replica source;
  Fill(source, 500, "k");
  source.Apply({SetCmd("k1", "updated", 9000)});  // version 2
  Replica target;
  Fill(target, 300, "stale");  // must disappear
  int chunks = Transfer(source, target, 4096);
  EXPECT_GT(chunks, 5);
  EXPECT_EQ(target.Dump(Column::kData), source.Dump(Column::kData));
  EXPECT_EQ(target.Dump(Column::kSessions), source.Dump(Column::kSessions));
  AppliedState a = source.sm->applied();
  AppliedState b = target.sm->applied();
  EXPECT_EQ(b.index, a.index);
  EXPECT_EQ(b.clock_ms, a.clock_ms);
  auto k1 = target.sm->Get("k1", 0);
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->version, 2u);
  auto k3 = target.sm->Get("k3", 0);
  EXPECT_EQ(k3->expire_at_ms, 5003);
  EXPECT_FALSE(target.sm->Get("stale1", 0)->found);
  // Sessions came along: a retry is de-duplicated on the target.
  std::vector<ApplyResult> out;
  raft::Index next = b.index + 1;
  ASSERT_TRUE(
      target.sm
          ->ApplyEntry(CommandEntry(next, 2,
                                    {WithClient(SetCmd("k499", "x", 9000),
                                                100 + 499 % 7, 500)}),
                       &out)
          .ok());
  EXPECT_EQ(out[0].version, 1u);
  EXPECT_EQ(target.sm->Get("k499", 0)->value, std::string(64, 'a' + 499 % 26));
  // And it survives a restart.
  target.Open();
  EXPECT_EQ(target.sm->applied().index, next);
  EXPECT_EQ(target.sm->Get("k1", 0)->value, "updated");
}

// The server only knows the SnapshotMeta when it finishes an install: the
// applied clock and the member addresses still arrive with the stream.
TEST(SnapshotTest, ClockAndAddressesTravelWithTheStream) {
  Replica source;
  source.Apply({SetCmd("k", "v", 123456)});
  raft::ConfChange add{raft::ConfChangeType::kAddLearner, 9, "host:9"};
  ASSERT_TRUE(
      source.sm
          ->ApplyConfChange({2, 2, raft::EntryType::kConfChange, add.Encode()},
                            add, {{1}, {9}})
          .ok());
  Replica target;
  auto snapshot = source.sm->OpenSnapshot();
  auto sink = target.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  while (snapshot->NextChunk(1 << 20, &chunk)) {
    ASSERT_TRUE(sink->Add(chunk).ok());
  }
  AppliedState meta_only;
  meta_only.index = snapshot->state().index;
  meta_only.term = snapshot->state().term;
  meta_only.conf = snapshot->state().conf;
  ASSERT_TRUE(sink->Finish(meta_only).ok());
  for (int reopen = 0; reopen < 2; ++reopen) {
    AppliedState got = target.sm->applied();
    EXPECT_EQ(got.index, 2u);
    EXPECT_EQ(got.clock_ms, 123456);
    EXPECT_EQ(got.conf, (raft::ConfState{{1}, {9}}));
    EXPECT_EQ(got.addresses.at(9), "host:9");
    target.Open();
  }
}

TEST(SnapshotTest, EmptySnapshotEmptiesTheTarget) {
  Replica source;
  Replica target;
  Fill(target, 50, "old");
  EXPECT_EQ(Transfer(source, target, 1 << 20), 0);
  EXPECT_TRUE(target.Dump(Column::kData).empty());
  EXPECT_TRUE(target.Dump(Column::kSessions).empty());
  EXPECT_EQ(target.sm->applied().index, 0u);
  // Both empty: still fine.
  Replica empty;
  EXPECT_EQ(Transfer(source, empty, 1 << 20), 0);
}

TEST(SnapshotTest, ImageIsConsistentWhileWritesContinue) {
  Replica source;
  Fill(source, 100, "k");
  auto snapshot = source.sm->OpenSnapshot();
  const raft::Index at = snapshot->state().index;
  source.Apply({SetCmd("after", "x", 1)});
  Replica target;
  auto sink = target.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  while (snapshot->NextChunk(1024, &chunk)) ASSERT_TRUE(sink->Add(chunk).ok());
  ASSERT_TRUE(sink->Finish(snapshot->state()).ok());
  EXPECT_EQ(target.sm->applied().index, at);
  EXPECT_FALSE(target.sm->Get("after", 0)->found);
  EXPECT_TRUE(target.sm->Get("k99", 0)->found);
}

TEST(SnapshotTest, AbandonedInstallLeavesOldStateIntact) {
  Replica source;
  Fill(source, 200, "new");
  Replica target;
  Fill(target, 20, "old");
  auto before = target.Dump(Column::kData);
  const AppliedState state = target.sm->applied();
  {
    auto snapshot = source.sm->OpenSnapshot();
    auto sink = target.sm->BeginInstall();
    internal::SnapshotChunk chunk;
    ASSERT_TRUE(snapshot->NextChunk(2048, &chunk));
    ASSERT_TRUE(sink->Add(chunk).ok());
    // The process "dies" here: reopen without Finish, with the sink's
    // temporary files still on disk.
    std::filesystem::copy(target.dir.path() + "/snapshot-install.tmp",
                          target.dir.path() + "/leftover",
                          std::filesystem::copy_options::recursive);
  }
  std::filesystem::rename(target.dir.path() + "/leftover",
                          target.dir.path() + "/snapshot-install.tmp");
  target.Open();
  EXPECT_FALSE(
      std::filesystem::exists(target.dir.path() + "/snapshot-install.tmp"));
  EXPECT_EQ(target.Dump(Column::kData), before);
  EXPECT_EQ(target.sm->applied().index, state.index);
  // A complete install afterwards works.
  Transfer(source, target, 2048);
  EXPECT_EQ(target.Dump(Column::kData), source.Dump(Column::kData));
}

TEST(SnapshotTest, OutOfOrderKeysAreRejected) {
  Replica target;
  auto sink = target.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  chunk.set_column_family(static_cast<uint32_t>(Column::kData));
  chunk.add_keys("b");
  chunk.add_values(std::string(16, '\0'));
  chunk.add_keys("a");
  chunk.add_values(std::string(16, '\0'));
  EXPECT_EQ(sink->Add(chunk).code(), Code::kInvalidArgument);
  chunk.set_column_family(static_cast<uint32_t>(Column::kRaftLog));
  auto other = target.sm->BeginInstall();
  EXPECT_EQ(other->Add(chunk).code(), Code::kInvalidArgument);
}

TEST(SnapshotTest, LargeValuesStream) {
  Replica source;
  std::string big(1 << 20, 'b');
  source.Apply({SetCmd("big1", big, 1), SetCmd("big2", big + "2", 1)});
  Replica target;
  EXPECT_EQ(Transfer(source, target, 64 << 10), 3);  // 2 values + state
  EXPECT_EQ(target.sm->Get("big2", 0)->value, big + "2");
}

}  // namespace
}  // namespace shardkv::storage
