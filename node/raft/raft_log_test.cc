// RaftLog over MemoryLogStorage: the unstable tail, truncation of
// conflicts, compaction and snapshots; plus MemoryLogStorage itself.
#include "node/raft/raft_log.h"

#include <gtest/gtest.h>

#include "node/raft/memory_log_storage.h"

namespace shardkv::raft {
namespace {

std::vector<Entry> Entries(Index first, std::vector<Term> terms) {
  std::vector<Entry> out;
  for (Term t : terms) {
    out.push_back(
        Entry{t, first, EntryType::kNormal, "e" + std::to_string(first)});
    ++first;
  }
  return out;
}

TEST(MemoryLogStorageTest, AppendTruncatesConflictsAndCompactKeepsTerm) {
  MemoryLogStorage s;
  ASSERT_TRUE(s.Append(Entries(1, {1, 1, 2, 2})).ok());
  ASSERT_TRUE(s.Append(Entries(3, {3})).ok());
  EXPECT_EQ(s.LastIndex(), 3u);
  EXPECT_EQ(*s.TermAt(3), 3u);
  ASSERT_TRUE(s.Compact(2).ok());
  EXPECT_EQ(s.FirstIndex(), 3u);
  EXPECT_EQ(*s.TermAt(2), 1u);  // the compaction point keeps its term
  EXPECT_EQ(s.TermAt(1).status().code(), Code::kOutOfRange);
  std::vector<Entry> out;
  EXPECT_EQ(s.Entries(2, 4, 100, &out).code(), Code::kOutOfRange);
  EXPECT_EQ(s.Entries(3, 5, 100, &out).code(), Code::kUnavailable);
  EXPECT_FALSE(s.Append(Entries(5, {3})).ok());  // gap
}

TEST(MemoryLogStorageTest, EntriesRespectByteLimitButReturnOne) {
  MemoryLogStorage s;
  ASSERT_TRUE(s.Append(Entries(1, {1, 1, 1})).ok());
  std::vector<Entry> out;
  ASSERT_TRUE(s.Entries(1, 4, 0, &out).ok());
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  ASSERT_TRUE(s.Entries(1, 4, 4, &out).ok());  // "e1"+"e2" = 4 bytes
  EXPECT_EQ(out.size(), 2u);
}

TEST(MemoryLogStorageTest, ApplySnapshotDiscardsLog) {
  MemoryLogStorage s;
  ASSERT_TRUE(s.Append(Entries(1, {1, 1})).ok());
  ASSERT_TRUE(s.ApplySnapshot({10, 3, {{1, 2}, {}}}).ok());
  EXPECT_EQ(s.FirstIndex(), 11u);
  EXPECT_EQ(s.LastIndex(), 10u);
  EXPECT_EQ(*s.TermAt(10), 3u);
  EXPECT_EQ(s.InitialConfState().voters, (std::vector<NodeId>{1, 2}));
  EXPECT_FALSE(s.ApplySnapshot({5, 1, {}}).ok());
}

TEST(RaftLogTest, UnstableEntriesShadowStaleStorageUntilStable) {
  MemoryLogStorage s;
  ASSERT_TRUE(s.Append(Entries(1, {1, 1, 1, 1})).ok());
  RaftLog log(&s, 0);
  EXPECT_EQ(log.LastIndex(), 4u);
  // A new leader overwrites 3..: storage still has the stale 3 and 4.
  log.Append(Entries(3, {2}));
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(*log.TermAt(3), 2u);
  EXPECT_EQ(log.TermAt(4).status().code(), Code::kUnavailable);
  std::vector<Entry> out;
  ASSERT_TRUE(log.Slice(1, 4, 1000, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].term, 2u);
  // The caller persists the unstable tail, then Advance marks it stable.
  ASSERT_TRUE(s.Append(log.UnstableEntries()).ok());
  log.StableTo(3, 2);
  EXPECT_TRUE(log.UnstableEntries().empty());
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(*log.TermAt(3), 2u);
}

TEST(RaftLogTest, StableToIgnoresReplacedEntries) {
  MemoryLogStorage s;
  RaftLog log(&s, 0);
  log.Append(Entries(1, {1, 1}));
  log.Append(Entries(2, {2}));  // replaced before the Ready was advanced
  log.StableTo(2, 1);
  EXPECT_EQ(log.UnstableEntries().size(), 2u);
}

TEST(RaftLogTest, Section3_5_MaybeAppendChecksPrevAndTruncatesConflicts) {
  MemoryLogStorage s;
  RaftLog log(&s, 0);
  log.Append(Entries(1, {1, 1, 1}));
  EXPECT_FALSE(log.MaybeAppend(3, 2, 0, {}).has_value());  // term mismatch
  EXPECT_FALSE(log.MaybeAppend(4, 1, 0, {}).has_value());  // missing
  // Entries that already match are not rewritten; the conflict at 3 is.
  auto last = log.MaybeAppend(1, 1, 2, Entries(2, {1, 3, 3}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(*log.TermAt(3), 3u);
  EXPECT_EQ(log.committed(), 2u);  // min(leader commit, last new)
  auto again = log.MaybeAppend(0, 0, 9, Entries(1, {1}));
  EXPECT_EQ(*again, 1u);
  EXPECT_EQ(log.committed(), 2u);  // commit never decreases
  EXPECT_EQ(log.LastIndex(), 4u);  // a stale shorter append truncates nothing
}

TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  MemoryLogStorage s;
  RaftLog log(&s, 0);
  log.Append(Entries(1, {1, 1, 4, 4, 4, 5}));
  EXPECT_EQ(log.FindConflictByTerm(6, 3), 2u);
  EXPECT_EQ(log.FindConflictByTerm(6, 4), 5u);
  EXPECT_EQ(log.FindConflictByTerm(10, 9), 6u);
}

TEST(RaftLogTest, CompactedPrefixIsOutOfRange) {
  MemoryLogStorage s;
  ASSERT_TRUE(s.Append(Entries(1, {1, 1, 2})).ok());
  s.SetHardState({2, 0, 3});
  RaftLog log(&s, 3);
  ASSERT_TRUE(s.Compact(2).ok());
  EXPECT_EQ(log.FirstIndex(), 3u);
  EXPECT_EQ(*log.TermAt(2), 1u);
  EXPECT_EQ(log.TermAt(1).status().code(), Code::kOutOfRange);
  std::vector<Entry> out;
  EXPECT_EQ(log.Slice(2, 4, 100, &out).code(), Code::kOutOfRange);
}

TEST(RaftLogTest, RestoreMakesSnapshotTheBase) {
  MemoryLogStorage s;
  RaftLog log(&s, 0);
  log.Append(Entries(1, {1, 1}));
  log.Restore({10, 3, {{1}, {}}});
  EXPECT_EQ(log.FirstIndex(), 11u);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(log.LastTerm(), 3u);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_FALSE(log.HasNextCommittedEntries());
  ASSERT_TRUE(log.UnstableSnapshot().has_value());
  log.StableSnapshotTo(10);
  EXPECT_FALSE(log.UnstableSnapshot().has_value());
}

TEST(RaftLogTest, CommittedEntriesAreCappedAndContiguous) {
  MemoryLogStorage s;
  RaftLog log(&s, 0);
  log.Append(Entries(1, {1, 1, 1, 1}));
  log.CommitTo(4);
  std::vector<Entry> first = log.NextCommittedEntries(4);  // two of 2 bytes
  ASSERT_EQ(first.size(), 2u);
  log.ApplyingTo(first.back().index);
  std::vector<Entry> second = log.NextCommittedEntries(1 << 20);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second.front().index, 3u);
}

}  // namespace
}  // namespace shardkv::raft
