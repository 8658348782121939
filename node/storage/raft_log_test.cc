// Both RaftLog kinds (RocksDB, segments) against the raft::LogStorage
// contract (log_storage.h) and RaftLog's (raft_log.h).
#include "node/storage/raft_log.h"

#include <gtest/gtest.h>

#include <random>

#include "node/raft/memory_log_storage.h"
#include "node/storage/raft_log_store.h"
#include "node/storage/segment_log_store.h"
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

// Opens the log of one kind in a data dir.
struct RocksDbLog {
  static std::unique_ptr<RaftLog> Open(const std::string& dir,
                                       std::unique_ptr<Engine>* engine) {
    auto opened = Engine::Open(dir, {});
    if (!opened.ok()) return nullptr;
    *engine = std::move(*opened);
    return std::make_unique<RaftLogStore>(engine->get());
  }
};
struct SegmentLog {
  static std::unique_ptr<RaftLog> Open(const std::string& dir,
                                       std::unique_ptr<Engine>*) {
    // Tiny segments: most tests then rotate, and some batches are larger
    // than a segment.
    return std::make_unique<SegmentLogStore>(dir + "/raft-log",
                                             SegmentLogOptions{4096, true});
  }
};

template <typename Kind>
class RaftLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    log_.reset();
    engine_.reset();
    log_ = Kind::Open(dir_.path(), &engine_);
    ASSERT_NE(log_, nullptr);
    Status s = log_->Load();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<Entry> Read(raft::Index lo, raft::Index hi,
                          uint64_t max_bytes = UINT64_MAX) {
    std::vector<Entry> out;
    Status s = log_->Entries(lo, hi, max_bytes, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RaftLog> log_;
};

using Kinds = ::testing::Types<RocksDbLog, SegmentLog>;
TYPED_TEST_SUITE(RaftLogTest, Kinds);

TYPED_TEST(RaftLogTest, EmptyLog) {
  EXPECT_EQ(this->log_->FirstIndex(), 1u);
  EXPECT_EQ(this->log_->LastIndex(), 0u);
  EXPECT_EQ(this->log_->Snapshot(), raft::SnapshotMeta{});
  EXPECT_EQ(this->log_->InitialHardState(), raft::HardState{});
  auto term = this->log_->TermAt(0);
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, 0u);
  EXPECT_EQ(this->log_->TermAt(1).status().code(), Code::kUnavailable);
  EXPECT_TRUE(this->Read(1, 1).empty());
}

TYPED_TEST(RaftLogTest, AppendAndRead) {
  ASSERT_TRUE(
      this->log_->Save(raft::HardState{1, 2, 3}, Make(1, 5, 1), true).ok());
  EXPECT_EQ(this->log_->LastIndex(), 5u);
  EXPECT_EQ(this->Read(1, 6), Make(1, 5, 1));
  EXPECT_EQ(this->Read(2, 4), Make(2, 3, 1));
  EXPECT_EQ(this->log_->InitialHardState(), (raft::HardState{1, 2, 3}));
  std::vector<Entry> out;
  EXPECT_EQ(this->log_->Entries(1, 7, UINT64_MAX, &out).code(),
            Code::kUnavailable);
  EXPECT_EQ(this->log_->Entries(0, 2, UINT64_MAX, &out).code(),
            Code::kOutOfRange);
}

TYPED_TEST(RaftLogTest, GapIsRefused) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 2, 1), true).ok());
  EXPECT_FALSE(this->log_->Save(std::nullopt, Make(4, 5, 1), true).ok());
  EXPECT_EQ(this->log_->LastIndex(), 2u);
}

TYPED_TEST(RaftLogTest, MaxBytesReturnsAtLeastOneEntry) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 10, 1, 100), true).ok());
  EXPECT_EQ(this->Read(1, 11, 0).size(), 1u);
  EXPECT_EQ(this->Read(1, 11, 250).size(), 2u);
  EXPECT_EQ(this->Read(1, 11, 300).size(), 3u);
}

TYPED_TEST(RaftLogTest, OverwriteTruncatesConflictingSuffix) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 10, 1), true).ok());
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(6, 7, 2), true).ok());
  EXPECT_EQ(this->log_->LastIndex(), 7u);
  auto expected = Make(1, 5, 1);
  for (auto& e : Make(6, 7, 2)) expected.push_back(e);
  EXPECT_EQ(this->Read(1, 8), expected);
  this->Reopen();
  EXPECT_EQ(this->log_->LastIndex(), 7u);
  EXPECT_EQ(this->Read(1, 8), expected);
  EXPECT_EQ(this->log_->TermAt(8).status().code(), Code::kUnavailable);
}

TYPED_TEST(RaftLogTest, CompactionAndTermAtEdges) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 5, 1), true).ok());
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(6, 10, 2), true).ok());
  ASSERT_TRUE(this->log_->Compact(6).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
  EXPECT_EQ(this->log_->Snapshot().index, 6u);
  EXPECT_EQ(this->log_->Snapshot().term, 2u);
  auto term = this->log_->TermAt(6);  // FirstIndex() - 1: the snapshot's term
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, 2u);
  EXPECT_EQ(this->log_->TermAt(5).status().code(), Code::kOutOfRange);
  std::vector<Entry> out;
  EXPECT_EQ(this->log_->Entries(6, 8, UINT64_MAX, &out).code(),
            Code::kOutOfRange);
  EXPECT_EQ(this->Read(7, 11), Make(7, 10, 2));
  EXPECT_TRUE(this->log_->Compact(3).ok());  // already compacted: no-op
  EXPECT_FALSE(this->log_->Compact(11).ok());
  this->Reopen();
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
  EXPECT_EQ(*this->log_->TermAt(6), 2u);
  EXPECT_EQ(this->Read(7, 11), Make(7, 10, 2));
}

TYPED_TEST(RaftLogTest, CompactEverythingThenAppend) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 5, 3), true).ok());
  ASSERT_TRUE(this->log_->Compact(5).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 6u);
  EXPECT_EQ(this->log_->LastIndex(), 5u);
  EXPECT_TRUE(this->Read(6, 6).empty());
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(6, 7, 3), true).ok());
  this->Reopen();
  EXPECT_EQ(this->Read(6, 8), Make(6, 7, 3));
}

TYPED_TEST(RaftLogTest, ReloadAfterReopen) {
  raft::ConfState conf{{1, 2, 3}, {}};
  ASSERT_TRUE(this->log_->Bootstrap(conf).ok());
  ASSERT_TRUE(
      this->log_->Save(raft::HardState{4, 1, 7}, Make(1, 9, 4), true).ok());
  this->Reopen();
  EXPECT_EQ(this->log_->InitialHardState(), (raft::HardState{4, 1, 7}));
  EXPECT_EQ(this->log_->InitialConfState(), conf);
  EXPECT_EQ(this->log_->LastIndex(), 9u);
  EXPECT_EQ(this->Read(1, 10), Make(1, 9, 4));
  EXPECT_FALSE(this->log_->Bootstrap(conf).ok());
}

TYPED_TEST(RaftLogTest, CompactionFoldsConfChangesIntoBaseConf) {
  ASSERT_TRUE(this->log_->Bootstrap({{1}, {}}).ok());
  auto entries = Make(1, 4, 1);
  entries[1].type = EntryType::kConfChange;
  entries[1].data =
      raft::ConfChange{raft::ConfChangeType::kAddLearner, 2, "h:2"}.Encode();
  entries[3].type = EntryType::kConfChange;
  entries[3].data =
      raft::ConfChange{raft::ConfChangeType::kPromote, 2, ""}.Encode();
  ASSERT_TRUE(this->log_->Save(std::nullopt, entries, true).ok());
  ASSERT_TRUE(this->log_->Compact(2).ok());
  EXPECT_EQ(this->log_->Snapshot().conf, (raft::ConfState{{1}, {2}}));
  EXPECT_EQ(this->log_->InitialConfState(), (raft::ConfState{{1}, {2}}));
  ASSERT_TRUE(this->log_->Compact(4).ok());
  EXPECT_EQ(this->log_->InitialConfState(), (raft::ConfState{{1, 2}, {}}));
}

TYPED_TEST(RaftLogTest, ApplySnapshotDiscardsTheLog) {
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(1, 5, 1), true).ok());
  raft::SnapshotMeta meta{20, 3, {{1, 2, 3}, {4}}};
  ASSERT_TRUE(this->log_->ApplySnapshot(meta).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 21u);
  EXPECT_EQ(this->log_->LastIndex(), 20u);
  EXPECT_EQ(*this->log_->TermAt(20), 3u);
  EXPECT_EQ(this->log_->InitialConfState(), meta.conf);
  ASSERT_TRUE(this->log_->Save(std::nullopt, Make(21, 22, 3), true).ok());
  this->Reopen();
  EXPECT_EQ(this->log_->Snapshot(), meta);
  EXPECT_EQ(this->log_->FirstIndex(), 21u);
  EXPECT_EQ(this->Read(21, 23), Make(21, 22, 3));
  EXPECT_EQ(this->log_->TermAt(5).status().code(), Code::kOutOfRange);
}

// The tail cache and the files must give the same answers, whatever part of
// a range lives where.
TYPED_TEST(RaftLogTest, CacheAndDiskAgree) {
  this->log_->SetCacheLimits(8, 1 << 20);
  std::vector<Entry> all;
  for (raft::Index i = 1; i <= 40; i += 5) {
    auto batch = Make(i, i + 4, 1 + i / 10, 1 + i % 7);
    ASSERT_TRUE(this->log_->Save(std::nullopt, batch, false).ok());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  auto reference = [&](raft::Index lo, raft::Index hi) {
    return std::vector<Entry>(all.begin() + (lo - 1), all.begin() + (hi - 1));
  };
  for (raft::Index lo = 1; lo <= 40; lo += 3) {
    for (raft::Index hi = lo; hi <= 41; hi += 4) {
      EXPECT_EQ(this->Read(lo, hi), reference(lo, hi)) << lo << ".." << hi;
    }
    EXPECT_EQ(*this->log_->TermAt(lo), all[lo - 1].term);
  }
  // Byte limits crossing from disk into the cache.
  auto limited = this->Read(30, 41, 20);
  ASSERT_FALSE(limited.empty());
  EXPECT_EQ(limited, reference(30, 30 + limited.size()));
  this->Reopen();  // no cache at all
  for (raft::Index lo = 1; lo <= 40; lo += 3) {
    EXPECT_EQ(this->Read(lo, 41), reference(lo, 41));
  }
}

// Random appends, overwrites, compactions, snapshots and reopens, checked
// against the reference raft::MemoryLogStorage after every step.
TYPED_TEST(RaftLogTest, BehavesLikeMemoryLogStorage) {
  this->log_->SetCacheLimits(16, 2048);
  raft::MemoryLogStorage reference;
  std::mt19937_64 rng(42);
  auto uniform = [&](uint64_t lo, uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  raft::Term term = 1;
  for (int step = 0; step < 400; ++step) {
    const uint64_t op = uniform(0, 99);
    if (op < 70) {
      const raft::Index first =
          uniform(reference.FirstIndex(), reference.LastIndex() + 1);
      if (uniform(0, 3) == 0) ++term;
      auto entries = Make(first, first + uniform(0, 20), term,
                          50 * uniform(0, 6));  // sizes that add up to limits
      ASSERT_TRUE(reference.Append(entries).ok());
      ASSERT_TRUE(this->log_->Save(std::nullopt, entries, false).ok());
    } else if (op < 85) {
      const raft::Index upto =
          uniform(reference.FirstIndex() - 1, reference.LastIndex());
      ASSERT_TRUE(reference.Compact(upto).ok());
      ASSERT_TRUE(this->log_->Compact(upto).ok());
    } else if (op < 90) {
      raft::SnapshotMeta meta{reference.LastIndex() + uniform(0, 10), term, {}};
      ASSERT_TRUE(reference.ApplySnapshot(meta).ok());
      ASSERT_TRUE(this->log_->ApplySnapshot(meta).ok());
    } else {
      this->Reopen();
      this->log_->SetCacheLimits(16, 2048);
    }
    ASSERT_EQ(this->log_->FirstIndex(), reference.FirstIndex()) << step;
    ASSERT_EQ(this->log_->LastIndex(), reference.LastIndex()) << step;
    ASSERT_EQ(this->log_->Snapshot().index, reference.Snapshot().index);
    ASSERT_EQ(this->log_->Snapshot().term, reference.Snapshot().term);
    for (raft::Index i = reference.FirstIndex() - 1;
         i <= reference.LastIndex() + 1; ++i) {
      auto want = reference.TermAt(i);
      auto got = this->log_->TermAt(i);
      ASSERT_EQ(got.ok(), want.ok()) << step << " index " << i;
      if (want.ok()) {
        ASSERT_EQ(*got, *want) << step << " index " << i;
      }
    }
    for (int probe = 0; probe < 5; ++probe) {
      const raft::Index lo =
          uniform(reference.FirstIndex() - 1, reference.LastIndex() + 1);
      const raft::Index hi = uniform(lo, reference.LastIndex() + 2);
      const uint64_t max_bytes = 50 * uniform(0, 60);
      std::vector<Entry> want;
      std::vector<Entry> got;
      Status ws = reference.Entries(lo, hi, max_bytes, &want);
      Status gs = this->log_->Entries(lo, hi, max_bytes, &got);
      ASSERT_EQ(gs.code(), ws.code())
          << step << " [" << lo << ", " << hi << ") " << gs.ToString();
      ASSERT_EQ(got, want) << step << " [" << lo << ", " << hi << ")";
    }
  }
}

}  // namespace
}  // namespace shardkv::storage
