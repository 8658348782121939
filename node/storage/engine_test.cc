#include "node/storage/engine.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdio>
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

// Fills a 16 MiB tmpfs: writes must fail with a clear "disk full" error,
// not crash, and the data written before must read back after reopening
// with space available again.
TEST(EngineTest, DiskFullIsResourceExhausted) {
  TempDir dir;
  if (mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=16m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{dir.path()};
  const std::string db = dir.path() + "/db";
  Status failure;
  raft::Index saved = 0;
  {
    EngineOptions options;
    options.write_buffer_bytes = 4 << 20;
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
    std::printf("disk full error: %s\n", failure.ToString().c_str());
    // Still no crash: later writes fail the same way, reads keep working.
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
  // Free space (the WAL of a fresh copy is small) and reopen: what was
  // acknowledged is still there.
  auto engine = Engine::Open(db, {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  RaftLogStore log(engine->get());
  ASSERT_TRUE(log.Load().ok());
  EXPECT_GE(log.LastIndex(), saved);
  auto term = log.TermAt(saved);
  ASSERT_TRUE(term.ok()) << term.status().ToString();
  EXPECT_EQ(*term, 1u);
}

}  // namespace
}  // namespace shardkv::storage
