// RaftLogStore against the raft::LogStorage contract (log_storage.h).
#include "node/storage/raft_log_store.h"

#include <gtest/gtest.h>

#include <random>

#include "node/raft/memory_log_storage.h"
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

class RaftLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    log_.reset();
    engine_.reset();
    auto engine = Engine::Open(dir_.path(), {});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    log_ = std::make_unique<RaftLogStore>(engine_.get());
    ASSERT_TRUE(log_->Load().ok());
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
  std::unique_ptr<RaftLogStore> log_;
};

TEST_F(RaftLogStoreTest, EmptyLog) {
  EXPECT_EQ(log_->FirstIndex(), 1u);
  EXPECT_EQ(log_->LastIndex(), 0u);
  EXPECT_EQ(log_->Snapshot(), raft::SnapshotMeta{});
  EXPECT_EQ(log_->InitialHardState(), raft::HardState{});
  auto term = log_->TermAt(0);
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, 0u);
  EXPECT_EQ(log_->TermAt(1).status().code(), Code::kUnavailable);
  EXPECT_TRUE(Read(1, 1).empty());
}

TEST_F(RaftLogStoreTest, AppendAndRead) {
  ASSERT_TRUE(log_->Save(raft::HardState{1, 2, 3}, Make(1, 5, 1), true).ok());
  EXPECT_EQ(log_->LastIndex(), 5u);
  EXPECT_EQ(Read(1, 6), Make(1, 5, 1));
  EXPECT_EQ(Read(2, 4), Make(2, 3, 1));
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{1, 2, 3}));
  std::vector<Entry> out;
  EXPECT_EQ(log_->Entries(1, 7, UINT64_MAX, &out).code(), Code::kUnavailable);
  EXPECT_EQ(log_->Entries(0, 2, UINT64_MAX, &out).code(), Code::kOutOfRange);
}

TEST_F(RaftLogStoreTest, GapIsRefused) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 2, 1), true).ok());
  EXPECT_FALSE(log_->Save(std::nullopt, Make(4, 5, 1), true).ok());
  EXPECT_EQ(log_->LastIndex(), 2u);
}

TEST_F(RaftLogStoreTest, MaxBytesReturnsAtLeastOneEntry) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 10, 1, 100), true).ok());
  EXPECT_EQ(Read(1, 11, 0).size(), 1u);
  EXPECT_EQ(Read(1, 11, 250).size(), 2u);
  EXPECT_EQ(Read(1, 11, 300).size(), 3u);
}

TEST_F(RaftLogStoreTest, OverwriteTruncatesConflictingSuffix) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 10, 1), true).ok());
  ASSERT_TRUE(log_->Save(std::nullopt, Make(6, 7, 2), true).ok());
  EXPECT_EQ(log_->LastIndex(), 7u);
  auto expected = Make(1, 5, 1);
  for (auto& e : Make(6, 7, 2)) expected.push_back(e);
  EXPECT_EQ(Read(1, 8), expected);
  Reopen();
  EXPECT_EQ(log_->LastIndex(), 7u);
  EXPECT_EQ(Read(1, 8), expected);
  EXPECT_EQ(log_->TermAt(8).status().code(), Code::kUnavailable);
}

TEST_F(RaftLogStoreTest, CompactionAndTermAtEdges) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 5, 1), true).ok());
  ASSERT_TRUE(log_->Save(std::nullopt, Make(6, 10, 2), true).ok());
  ASSERT_TRUE(log_->Compact(6).ok());
  EXPECT_EQ(log_->FirstIndex(), 7u);
  EXPECT_EQ(log_->LastIndex(), 10u);
  EXPECT_EQ(log_->Snapshot().index, 6u);
  EXPECT_EQ(log_->Snapshot().term, 2u);
  auto term = log_->TermAt(6);  // FirstIndex() - 1: the snapshot's term
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, 2u);
  EXPECT_EQ(log_->TermAt(5).status().code(), Code::kOutOfRange);
  std::vector<Entry> out;
  EXPECT_EQ(log_->Entries(6, 8, UINT64_MAX, &out).code(), Code::kOutOfRange);
  EXPECT_EQ(Read(7, 11), Make(7, 10, 2));
  EXPECT_TRUE(log_->Compact(3).ok());  // already compacted: no-op
  EXPECT_FALSE(log_->Compact(11).ok());
  Reopen();
  EXPECT_EQ(log_->FirstIndex(), 7u);
  EXPECT_EQ(log_->LastIndex(), 10u);
  EXPECT_EQ(*log_->TermAt(6), 2u);
  EXPECT_EQ(Read(7, 11), Make(7, 10, 2));
}

TEST_F(RaftLogStoreTest, CompactEverythingThenAppend) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 5, 3), true).ok());
  ASSERT_TRUE(log_->Compact(5).ok());
  EXPECT_EQ(log_->FirstIndex(), 6u);
  EXPECT_EQ(log_->LastIndex(), 5u);
  EXPECT_TRUE(Read(6, 6).empty());
  ASSERT_TRUE(log_->Save(std::nullopt, Make(6, 7, 3), true).ok());
  Reopen();
  EXPECT_EQ(Read(6, 8), Make(6, 7, 3));
}

TEST_F(RaftLogStoreTest, ReloadAfterReopen) {
  raft::ConfState conf{{1, 2, 3}, {}};
  ASSERT_TRUE(log_->Bootstrap(conf).ok());
  ASSERT_TRUE(log_->Save(raft::HardState{4, 1, 7}, Make(1, 9, 4), true).ok());
  Reopen();
  EXPECT_EQ(log_->InitialHardState(), (raft::HardState{4, 1, 7}));
  EXPECT_EQ(log_->InitialConfState(), conf);
  EXPECT_EQ(log_->LastIndex(), 9u);
  EXPECT_EQ(Read(1, 10), Make(1, 9, 4));
  EXPECT_FALSE(log_->Bootstrap(conf).ok());
}

TEST_F(RaftLogStoreTest, CompactionFoldsConfChangesIntoBaseConf) {
  ASSERT_TRUE(log_->Bootstrap({{1}, {}}).ok());
  auto entries = Make(1, 4, 1);
  entries[1].type = EntryType::kConfChange;
  entries[1].data =
      raft::ConfChange{raft::ConfChangeType::kAddLearner, 2, "h:2"}.Encode();
  entries[3].type = EntryType::kConfChange;
  entries[3].data =
      raft::ConfChange{raft::ConfChangeType::kPromote, 2, ""}.Encode();
  ASSERT_TRUE(log_->Save(std::nullopt, entries, true).ok());
  ASSERT_TRUE(log_->Compact(2).ok());
  EXPECT_EQ(log_->Snapshot().conf, (raft::ConfState{{1}, {2}}));
  EXPECT_EQ(log_->InitialConfState(), (raft::ConfState{{1}, {2}}));
  ASSERT_TRUE(log_->Compact(4).ok());
  EXPECT_EQ(log_->InitialConfState(), (raft::ConfState{{1, 2}, {}}));
}

TEST_F(RaftLogStoreTest, ApplySnapshotDiscardsTheLog) {
  ASSERT_TRUE(log_->Save(std::nullopt, Make(1, 5, 1), true).ok());
  raft::SnapshotMeta meta{20, 3, {{1, 2, 3}, {4}}};
  ASSERT_TRUE(log_->ApplySnapshot(meta).ok());
  EXPECT_EQ(log_->FirstIndex(), 21u);
  EXPECT_EQ(log_->LastIndex(), 20u);
  EXPECT_EQ(*log_->TermAt(20), 3u);
  EXPECT_EQ(log_->InitialConfState(), meta.conf);
  ASSERT_TRUE(log_->Save(std::nullopt, Make(21, 22, 3), true).ok());
  Reopen();
  EXPECT_EQ(log_->Snapshot(), meta);
  EXPECT_EQ(log_->FirstIndex(), 21u);
  EXPECT_EQ(Read(21, 23), Make(21, 22, 3));
  EXPECT_EQ(log_->TermAt(5).status().code(), Code::kOutOfRange);
}

// The tail cache and RocksDB must give the same answers, whatever part of
// a range lives where.
TEST_F(RaftLogStoreTest, CacheAndDiskAgree) {
  log_->SetCacheLimits(8, 1 << 20);
  std::vector<Entry> all;
  for (raft::Index i = 1; i <= 40; i += 5) {
    auto batch = Make(i, i + 4, 1 + i / 10, 1 + i % 7);
    ASSERT_TRUE(log_->Save(std::nullopt, batch, false).ok());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  auto reference = [&](raft::Index lo, raft::Index hi) {
    return std::vector<Entry>(all.begin() + (lo - 1), all.begin() + (hi - 1));
  };
  for (raft::Index lo = 1; lo <= 40; lo += 3) {
    for (raft::Index hi = lo; hi <= 41; hi += 4) {
      EXPECT_EQ(Read(lo, hi), reference(lo, hi)) << lo << ".." << hi;
    }
    EXPECT_EQ(*log_->TermAt(lo), all[lo - 1].term);
  }
  // Byte limits crossing from disk into the cache.
  auto limited = Read(30, 41, 20);
  ASSERT_FALSE(limited.empty());
  EXPECT_EQ(limited, reference(30, 30 + limited.size()));
  Reopen();  // no cache at all
  for (raft::Index lo = 1; lo <= 40; lo += 3) {
    EXPECT_EQ(Read(lo, 41), reference(lo, 41));
  }
}

// Random appends, overwrites, compactions, snapshots and reopens, checked
// against the reference raft::MemoryLogStorage after every step.
TEST_F(RaftLogStoreTest, BehavesLikeMemoryLogStorage) {
  log_->SetCacheLimits(16, 2048);
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
      ASSERT_TRUE(log_->Save(std::nullopt, entries, false).ok());
    } else if (op < 85) {
      const raft::Index upto =
          uniform(reference.FirstIndex() - 1, reference.LastIndex());
      ASSERT_TRUE(reference.Compact(upto).ok());
      ASSERT_TRUE(log_->Compact(upto).ok());
    } else if (op < 90) {
      raft::SnapshotMeta meta{reference.LastIndex() + uniform(0, 10), term, {}};
      ASSERT_TRUE(reference.ApplySnapshot(meta).ok());
      ASSERT_TRUE(log_->ApplySnapshot(meta).ok());
    } else {
      Reopen();
      log_->SetCacheLimits(16, 2048);
    }
    ASSERT_EQ(log_->FirstIndex(), reference.FirstIndex()) << step;
    ASSERT_EQ(log_->LastIndex(), reference.LastIndex()) << step;
    ASSERT_EQ(log_->Snapshot().index, reference.Snapshot().index);
    ASSERT_EQ(log_->Snapshot().term, reference.Snapshot().term);
    for (raft::Index i = reference.FirstIndex() - 1;
         i <= reference.LastIndex() + 1; ++i) {
      auto want = reference.TermAt(i);
      auto got = log_->TermAt(i);
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
      Status gs = log_->Entries(lo, hi, max_bytes, &got);
      ASSERT_EQ(gs.code(), ws.code())
          << step << " [" << lo << ", " << hi << ") " << gs.ToString();
      ASSERT_EQ(got, want) << step << " [" << lo << ", " << hi << ")";
    }
  }
}

}  // namespace
}  // namespace shardkv::storage
