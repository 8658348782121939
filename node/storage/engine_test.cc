#include "node/storage/engine.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>

#include "node/storage/raft_log_store.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

using testing::TempDir;

TEST(EngineTest, OpensAllColumnFamiliesAndReopens) {
  TempDir dir;
  {
    auto engine = Engine::Open(dir.path(), {});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    for (auto c : {Column::kRaftLog, Column::kRaftState, Column::kData,
                   Column::kSessions, Column::kMeta}) {
      ASSERT_NE((*engine)->cf(c), nullptr);
      ASSERT_TRUE((*engine)->db()->Put({}, (*engine)->cf(c), "k", "v").ok());
    }
  }
  auto engine = Engine::Open(dir.path(), {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  std::string value;
  ASSERT_TRUE(
      (*engine)->db()->Get({}, (*engine)->cf(Column::kMeta), "k", &value).ok());
  EXPECT_EQ(value, "v");
}

TEST(EngineTest, FromRocksMapsErrorsToClearCodes) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  Status full = FromRocks(rocksdb::Status::NoSpace("ENOSPC"), "saving");
  EXPECT_EQ(full.code(), Code::kResourceExhausted);
  EXPECT_NE(full.message().find("disk full while saving"), std::string::npos);
  Status io = FromRocks(
      rocksdb::Status::IOError("While appending: No space left on device"),
      "saving");
  EXPECT_EQ(io.code(), Code::kResourceExhausted);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "r").code(),
            Code::kDataLoss);
  EXPECT_EQ(FromRocks(rocksdb::Status::IOError("EIO"), "r").code(),
            Code::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::InvalidArgument("x"), "r").code(),
            Code::kInvalidArgument);
}

TEST(EngineTest, OpenOfUnusableDirectoryIsAnError) {
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  std::FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto engine = Engine::Open(file + "/db", {});
  EXPECT_FALSE(engine.ok());
}

// Fills a 16 MiB tmpfs with synced log appends: writes must fail with a
// clear "disk full" error and never crash; reads keep working; reopening
// while still full is a clear error too; once the volume grows, every
// acknowledged entry is there. The parameter is the memtable size: 4 MiB
// runs out of space in a flush, 64 MiB in the WAL itself.
class DiskFullTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DiskFullTest, IsResourceExhaustedAndLosesNothing) {
  TempDir dir;
  if (mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=16m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{dir.path()};
  const std::string db = dir.path() + "/db";
  EngineOptions options;
  options.write_buffer_bytes = GetParam();
  Status failure;
  raft::Index saved = 0;
  {
    auto engine = Engine::Open(db, options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    RaftLogStore log(engine->get());
    ASSERT_TRUE(log.Load().ok());
    const std::string value(256 << 10, 'x');
    for (raft::Index i = 1; i <= 200 && failure.ok(); ++i) {
      failure = log.Save(std::nullopt,
                         {{1, i, raft::EntryType::kNormal, value}}, true);
      if (failure.ok()) saved = i;
    }
    ASSERT_FALSE(failure.ok()) << "16 MiB never filled up";
    EXPECT_EQ(failure.code(), Code::kResourceExhausted) << failure.ToString();
    EXPECT_NE(failure.message().find("disk full"), std::string::npos);
    Status again = log.Save(
        std::nullopt,
        {{1, log.LastIndex() + 1, raft::EntryType::kNormal, value}}, true);
    EXPECT_FALSE(again.ok());
    std::vector<raft::Entry> read;
    Status s = log.Entries(1, saved + 1, UINT64_MAX, &read);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(read.size(), saved);
  }
  ASSERT_GT(saved, 0u);
  {
    auto still_full = Engine::Open(db, options);
    if (!still_full.ok()) {
      EXPECT_EQ(still_full.status().code(), Code::kResourceExhausted)
          << still_full.status().ToString();
    }
  }
  ASSERT_EQ(
      mount("tmpfs", dir.path().c_str(), "tmpfs", MS_REMOUNT, "size=256m"), 0);
  auto engine = Engine::Open(db, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  RaftLogStore log(engine->get());
  ASSERT_TRUE(log.Load().ok());
  EXPECT_GE(log.LastIndex(), saved);
  std::vector<raft::Entry> read;
  ASSERT_TRUE(log.Entries(1, saved + 1, UINT64_MAX, &read).ok());
  EXPECT_EQ(read.size(), saved);
  EXPECT_TRUE(
      log.Save(std::nullopt,
               {{1, log.LastIndex() + 1, raft::EntryType::kNormal, "after"}},
               true)
          .ok());
}

INSTANTIATE_TEST_SUITE_P(MemtableSizes, DiskFullTest,
                         ::testing::Values(4ull << 20, 64ull << 20));

TEST(EngineTest, FlushAllFlushesEveryColumnFamilyAndIsCounted) {
  TempDir dir;
  auto engine = Engine::Open(dir.path(), {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  rocksdb::DB* db = (*engine)->db();
  for (auto c : {Column::kData, Column::kSessions, Column::kMeta}) {
    ASSERT_TRUE(db->Put(StateMachineWrites(), (*engine)->cf(c), "k", "v").ok());
  }
  const uint64_t before = (*engine)->flushes_completed();
  ASSERT_TRUE((*engine)->FlushAll(/*wait=*/true).ok());
  EXPECT_GT((*engine)->flushes_completed(), before);
  for (auto c : {Column::kData, Column::kSessions, Column::kMeta}) {
    uint64_t entries = 1;
    ASSERT_TRUE(db->GetIntProperty(
        (*engine)->cf(c), "rocksdb.num-entries-active-mem-table", &entries));
    EXPECT_EQ(entries, 0u);
    rocksdb::ReadOptions persisted;
    persisted.read_tier = rocksdb::kPersistedTier;
    std::string value;
    EXPECT_TRUE(db->Get(persisted, (*engine)->cf(c), "k", &value).ok());
  }
}

}  // namespace
}  // namespace shardkv::storage
