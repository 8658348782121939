// SegmentLogStore's own promises (the shared contract is in
// raft_log_test.cc): torn tails are cut, corruption elsewhere is refused,
// segments rotate and are deleted, the kind file, CRC32C.
#include "node/storage/segment_log_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "node/storage/crc32c.h"
#include "node/storage/raft_log_store.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

using raft::Entry;
using raft::EntryType;
using testing::TempDir;

std::vector<Entry> Make(raft::Index first, raft::Index last, raft::Term term,
                        size_t size = 10) {
  std::vector<Entry> out;
  for (raft::Index i = first; i <= last; ++i) {
    out.push_back({term, i, EntryType::kNormal,
                   std::string(size, static_cast<char>('a' + i % 26))});
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Bytes up to the last non-zero one: the written part of a segment whose
// last record ends in a non-zero byte (entry data below always does).
size_t WrittenBytes(const std::string& data) {
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0) --end;
  return end;
}

class SegmentLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Reopen().ok()); }

  Status Reopen(uint64_t segment_bytes = 1 << 20) {
    log_.reset();
    log_ = std::make_unique<SegmentLogStore>(
        LogDir(), SegmentLogOptions{segment_bytes, true});
    return log_->Load();
  }

  std::string LogDir() const { return dir_.path() + "/raft-log"; }

  std::vector<std::string> Segments() const {
    std::vector<std::string> out;
    for (const auto& f : std::filesystem::directory_iterator(LogDir())) {
      if (f.path().extension() == ".seg") out.push_back(f.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<Entry> Read(raft::Index lo, raft::Index hi) {
    std::vector<Entry> out;
    Status s = log_->Entries(lo, hi, UINT64_MAX, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<SegmentLogStore> log_;
};

TEST_F(SegmentLogStoreTest, SegmentIsPreallocatedAndOverwritten) {
  ASSERT_TRUE(log_->Save(raft::HardState{1, 1, 0}, Make(1, 3, 1), true).ok());
  auto segments = Segments();
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(std::filesystem::file_size(segments[0]), 1u << 20);
  const uint64_t before = std::filesystem::file_size(segments[0]);
  ASSERT_TRUE(log_->Save(std::nullopt, Make(4, 40, 1, 100), true).ok());
  EXPECT_EQ(std::filesystem::file_size(segments[0]), before);
}

TEST_F(SegmentLogStoreTest, TruncatedLastRecordIsCut) {
  ASSERT_TRUE(log_->Save(raft::HardState{2, 1, 5}, Make(1, 5, 2), true).ok());
  ASSERT_TRUE(log_->Save(std::nullopt, Make(6, 8, 2), true).ok());
  log_.reset();
  const std::string path = Segments().back();
  std::string data = ReadFile(path);
  // A crash in the middle of writing entry 8: the file ends inside it.
  data.resize(WrittenBytes(data) - 4);
  WriteFile(path, data);
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(log_->LastIndex(), 7u);
  EXPECT_EQ(Read(1, 8), Make(1, 7, 2));
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{2, 1, 5}));
  ASSERT_TRUE(log_->Save(std::nullopt, Make(8, 9, 3), true).ok());
  ASSERT_TRUE(Reopen().ok());
  auto expected = Make(1, 7, 2);
  for (auto& e : Make(8, 9, 3)) expected.push_back(e);
  EXPECT_EQ(Read(1, 10), expected);
}

TEST_F(SegmentLogStoreTest, GarbageAndZerosInTheTailAreCut) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 5, 1), true).ok());
  log_.reset();
  const std::string path = Segments().back();
  std::string data = ReadFile(path);
  const size_t end = WrittenBytes(data);
  // Zeros over the end of entry 5 (a page that never reached the disk),
  // garbage after it.
  for (size_t i = end - 3; i < end; ++i) data[i] = 0;
  std::mt19937 rng(7);
  for (size_t i = end + 100; i < end + 5000; ++i) {
    data[i] = static_cast<char>(rng());
  }
  WriteFile(path, data);
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(log_->LastIndex(), 4u);
  EXPECT_EQ(Read(1, 5), Make(1, 4, 1));
  // The garbage was zeroed: nothing of it comes back after new records.
  data = ReadFile(path);
  EXPECT_EQ(WrittenBytes(data),
            end - (kLogRecordHeaderBytes + kEntryRecordPrefixBytes + 10));
  ASSERT_TRUE(log_->Save(std::nullopt, Make(5, 6, 4), true).ok());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(log_->LastIndex(), 6u);
}

// Several records in one write; a crash persisted a later page but not
// an earlier one. The later records must not come back after the log has
// been cut and rewritten with fewer bytes.
TEST_F(SegmentLogStoreTest, ValidRecordsAfterATornOneStayDead) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 2, 1), true).ok());
  const size_t cut = WrittenBytes(ReadFile(Segments().back()));
  ASSERT_TRUE(log_->Save(std::nullopt, Make(3, 6, 1, 200), true).ok());
  log_.reset();
  const std::string path = Segments().back();
  std::string data = ReadFile(path);
  data[cut + 20] ^= 0x40;  // entry 3 is corrupt, 4..6 intact
  WriteFile(path, data);
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(log_->LastIndex(), 2u);
  // Exactly as long as the old entry 3: the old 4..6 would follow it.
  ASSERT_TRUE(log_->Save(std::nullopt, Make(3, 3, 2, 200), true).ok());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(log_->LastIndex(), 3u);
  EXPECT_EQ(*log_->TermAt(3), 2u);
}

TEST_F(SegmentLogStoreTest, RotationCompactionAndRestart) {
  ASSERT_TRUE(Reopen(8192).ok());
  ASSERT_TRUE(log_->Bootstrap({{1, 2, 3}, {}}).ok());
  for (raft::Index i = 1; i <= 300; i += 10) {
    ASSERT_TRUE(
        log_->Save(raft::HardState{1, 1, i}, Make(i, i + 9, 1, 100), true)
            .ok());
  }
  const size_t many = Segments().size();
  EXPECT_GE(many, 4u);
  EXPECT_EQ(log_->SegmentCount(), many);
  ASSERT_TRUE(Reopen(8192).ok());
  EXPECT_EQ(log_->LastIndex(), 300u);
  EXPECT_EQ(Read(1, 301), Make(1, 300, 1, 100));
  ASSERT_TRUE(log_->Compact(250).ok());
  // Segments go once a synced record holds the base.
  ASSERT_TRUE(log_->Save(raft::HardState{1, 1, 300}, {}, true).ok());
  EXPECT_LT(Segments().size(), many);
  EXPECT_EQ(log_->SegmentCount(), Segments().size());
  ASSERT_TRUE(Reopen(8192).ok());
  EXPECT_EQ(log_->FirstIndex(), 251u);
  EXPECT_EQ(log_->LastIndex(), 300u);
  EXPECT_EQ(Read(251, 301), Make(251, 300, 1, 100));
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{1, 1, 300}));
  EXPECT_EQ(log_->InitialConfState(), (raft::ConfState{{1, 2, 3}, {}}));
  // Everything compacted, the old segments deleted: the newest one's
  // header still has the state.
  for (raft::Index i = 301; i <= 400; i += 10) {
    ASSERT_TRUE(log_->Save(std::nullopt, Make(i, i + 9, 2, 100), true).ok());
  }
  ASSERT_TRUE(log_->Compact(400).ok());
  ASSERT_TRUE(log_->Save(raft::HardState{2, 1, 400}, {}, true).ok());
  EXPECT_EQ(Segments().size(), 1u);
  ASSERT_TRUE(Reopen(8192).ok());
  EXPECT_EQ(log_->FirstIndex(), 401u);
  EXPECT_EQ(*log_->TermAt(400), 2u);
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{2, 1, 400}));
  EXPECT_EQ(log_->InitialConfState(), (raft::ConfState{{1, 2, 3}, {}}));
}

TEST_F(SegmentLogStoreTest, ApplySnapshotDeletesOlderSegmentsAndRestarts) {
  ASSERT_TRUE(Reopen(8192).ok());
  for (raft::Index i = 1; i <= 200; i += 10) {
    ASSERT_TRUE(log_->Save(std::nullopt, Make(i, i + 9, 1, 100), true).ok());
  }
  ASSERT_GE(Segments().size(), 3u);
  raft::SnapshotMeta meta{150, 1, {{1, 2}, {3}}};
  ASSERT_TRUE(log_->ApplySnapshot(meta).ok());
  EXPECT_EQ(Segments().size(), 1u);
  ASSERT_TRUE(Reopen(8192).ok());
  EXPECT_EQ(log_->Snapshot(), meta);
  EXPECT_EQ(log_->FirstIndex(), 151u);
  EXPECT_EQ(log_->LastIndex(), 150u);  // entries after it are gone too
  EXPECT_EQ(log_->InitialConfState(), meta.conf);
  ASSERT_TRUE(log_->Save(std::nullopt, Make(151, 152, 2), true).ok());
  ASSERT_TRUE(Reopen(8192).ok());
  EXPECT_EQ(Read(151, 153), Make(151, 152, 2));
}

TEST_F(SegmentLogStoreTest, CorruptionInAnOlderSegmentIsRefused) {
  ASSERT_TRUE(Reopen(8192).ok());
  for (raft::Index i = 1; i <= 200; i += 10) {
    ASSERT_TRUE(log_->Save(std::nullopt, Make(i, i + 9, 1, 100), true).ok());
  }
  log_.reset();
  const std::string first = Segments().front();
  std::string data = ReadFile(first);
  data[WrittenBytes(data) / 2] ^= 0x01;
  WriteFile(first, data);
  Status s = Reopen(8192);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find(first), std::string::npos) << s.message();
}

TEST_F(SegmentLogStoreTest, MissingSegmentIsRefused) {
  ASSERT_TRUE(Reopen(8192).ok());
  for (raft::Index i = 1; i <= 200; i += 10) {
    ASSERT_TRUE(log_->Save(std::nullopt, Make(i, i + 9, 1, 100), true).ok());
  }
  log_.reset();
  auto segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  std::filesystem::remove(segments[1]);
  EXPECT_EQ(Reopen(8192).code(), Code::kDataLoss);
}

TEST_F(SegmentLogStoreTest, EmptyNewestSegmentIsDropped) {
  ASSERT_TRUE(log_->Save(raft::HardState{3, 1, 2}, Make(1, 2, 3), true).ok());
  log_.reset();
  // A crash right after rotating: the next segment exists, zero-filled.
  ASSERT_TRUE(
      SegmentFile::Prepare(LogDir() + "/0000000000000002.seg", 4096).ok());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(Segments().size(), 1u);
  EXPECT_EQ(log_->LastIndex(), 2u);
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{3, 1, 2}));
}

TEST(RaftLogKindTest, DataDirKeepsItsKind) {
  for (RaftLogKind kind : {RaftLogKind::kSegments, RaftLogKind::kRocksDb}) {
    TempDir dir;
    auto engine = Engine::Open(dir.path() + "/db", {});
    ASSERT_TRUE(engine.ok());
    auto log = OpenRaftLog(kind, dir.path(), engine->get());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Load().ok());
    ASSERT_TRUE((*log)->Save(std::nullopt, Make(1, 1, 1), true).ok());
    log->reset();
    const RaftLogKind other = kind == RaftLogKind::kSegments
                                  ? RaftLogKind::kRocksDb
                                  : RaftLogKind::kSegments;
    auto refused = OpenRaftLog(other, dir.path(), engine->get());
    EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find(RaftLogKindName(kind)),
              std::string::npos);
    EXPECT_TRUE(OpenRaftLog(kind, dir.path(), engine->get()).ok());
  }
}

TEST(RaftLogKindTest, RocksDbLogWithoutKindFileIsRecognized) {
  TempDir dir;
  auto engine = Engine::Open(dir.path() + "/db", {});
  ASSERT_TRUE(engine.ok());
  RaftLogStore old(engine->get());  // a data dir from before the kind file
  ASSERT_TRUE(old.Load().ok());
  ASSERT_TRUE(old.Bootstrap({{1}, {}}).ok());
  EXPECT_EQ(OpenRaftLog(RaftLogKind::kSegments, dir.path(), engine->get())
                .status()
                .code(),
            Code::kFailedPrecondition);
  EXPECT_TRUE(
      OpenRaftLog(RaftLogKind::kRocksDb, dir.path(), engine->get()).ok());
  EXPECT_FALSE(ParseRaftLogKind("wal").ok());
}

TEST(Crc32cTest, KnownValuesAndBothImplementationsAgree) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  std::mt19937 rng(1);
  for (size_t size : {1, 7, 8, 9, 63, 64, 1000}) {
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(Crc32cExtend(0, data.data(), size),
              Crc32cExtendPortable(0, data.data(), size));
    // Extending in two parts gives the CRC of the whole.
    const uint32_t part = Crc32cExtend(0, data.data(), size / 2);
    EXPECT_EQ(Crc32cExtend(part, data.data() + size / 2, size - size / 2),
              Crc32c(data));
  }
}

}  // namespace
}  // namespace shardkv::storage
