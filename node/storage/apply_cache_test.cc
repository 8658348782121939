// ApplyCache on its own, and the state machine's use of it: cached
// versions and sessions must never differ from what RocksDB holds, across
// snapshot installs, slot drops, reclaim and restarts.
#include "node/storage/apply_cache.h"

#include <gtest/gtest.h>

#include "node/storage/slot_test_util.h"

namespace shardkv::storage {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(ApplyCacheTest, PublishFindOverwriteAndClear) {
  ApplyCache cache(8, 8);
  EXPECT_EQ(cache.FindRecord("k"), nullptr);
  EXPECT_EQ(cache.FindSession(1), nullptr);
  ApplyCache::Overlay overlay;
  overlay.records["k"] = {true, 3, 0};
  overlay.records["gone"] = {};
  Session session;
  session.last_sequence = 9;
  overlay.sessions[1] = session;
  overlay.sessions[2] = std::nullopt;
  cache.Publish(std::move(overlay));
  ASSERT_NE(cache.FindRecord("k"), nullptr);
  EXPECT_EQ(cache.FindRecord("k")->version, 3u);
  ASSERT_NE(cache.FindRecord("gone"), nullptr);
  EXPECT_FALSE(cache.FindRecord("gone")->exists);
  ASSERT_NE(cache.FindSession(1), nullptr);
  EXPECT_EQ((*cache.FindSession(1))->last_sequence, 9u);
  ASSERT_NE(cache.FindSession(2), nullptr);
  EXPECT_FALSE(cache.FindSession(2)->has_value());

  ApplyCache::Overlay newer;
  newer.records["k"] = {true, 4, 77};
  cache.Publish(std::move(newer));
  EXPECT_EQ(cache.FindRecord("k")->version, 4u);
  EXPECT_EQ(cache.FindRecord("k")->expire_at_ms, 77);
  cache.EraseRecord("k");
  EXPECT_EQ(cache.FindRecord("k"), nullptr);
  cache.Clear();
  EXPECT_EQ(cache.FindRecord("gone"), nullptr);
  EXPECT_EQ(cache.FindSession(1), nullptr);
}

TEST(ApplyCacheTest, StaysWithinItsLimits) {
  ApplyCache cache(4, 2);
  for (int i = 0; i < 10; ++i) {
    ApplyCache::Overlay overlay;
    overlay.records["k" + std::to_string(i)] = {true, 1, 0};
    overlay.sessions[i + 1] = Session{};
    cache.Publish(std::move(overlay));
    EXPECT_LE(cache.record_count(), 4u);
    EXPECT_LE(cache.session_count(), 2u);
  }
  // The latest insert is always kept.
  EXPECT_NE(cache.FindRecord("k9"), nullptr);
  EXPECT_NE(cache.FindSession(10), nullptr);
}

TEST(ApplyCacheTest, LiveAtFollowsExpiry) {
  EXPECT_FALSE(CachedRecord{}.LiveAt(0));
  EXPECT_TRUE((CachedRecord{true, 1, 0}).LiveAt(1'000'000));
  EXPECT_TRUE((CachedRecord{true, 1, 50}).LiveAt(49));
  EXPECT_FALSE((CachedRecord{true, 1, 50}).LiveAt(50));
}

// Streams `from`'s image into `to`.
void Install(Node& from, Node& to) {
  auto source = from.sm->OpenSnapshot();
  auto sink = to.sm->BeginInstall();
  internal::SnapshotChunk chunk;
  while (source->NextChunk(1 << 16, &chunk)) ASSERT_TRUE(sink->Add(chunk).ok());
  ASSERT_TRUE(source->status().ok());
  Status s = sink->Finish(source->state());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// A replica whose cache knows "k" at version 5 and client 7 at sequence 5
// installs an image where "k" is at version 1 and client 7 at sequence 1:
// the next write must see the image, not the cache.
TEST(ApplyCacheTest, SnapshotInstallReplacesCachedVersionsAndSessions) {
  Node source;
  source.Apply(WithClient(SetCmd("k", "from-image", 1), 7, 1));
  Node target;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    target.Apply(WithClient(SetCmd("k", "old", 1), 7, seq));
  }
  target.Apply(WithClient(SetCmd("only-here", "x", 1), 8, 1));
  ASSERT_EQ(target.Read("k").version, 5u);
  Install(source, target);

  ApplyResult r = target.Apply(WithClient(SetCmd("k", "after", 2), 7, 2));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(target.Read("k").value, "after");
  // The key that the image does not have is absent to conditions too.
  internal::Command absent = SetCmd("only-here", "y", 2);
  absent.mutable_set()->set_if_absent(true);
  ApplyResult created = target.Apply(absent);
  ASSERT_TRUE(created.status.ok()) << created.status.ToString();
  EXPECT_EQ(created.version, 1u);
}

// Reclaim deletes expired records behind the applier's back: a Delete of
// such a key afterwards is a no-op, exactly as on a replica that never
// cached the key (checked through the data column family).
TEST(ApplyCacheTest, ReclaimedKeysAreReadAgain) {
  Node n;
  n.Apply(SetCmd("short", "v", 1, /*expire_at_ms=*/10));
  n.Apply(SetCmd("clock", "v", 20));  // the applied clock passes 10
  auto reclaimed = n.sm->ReclaimExpired(10);
  ASSERT_TRUE(reclaimed.ok());
  EXPECT_EQ(*reclaimed, 1u);
  ApplyResult del = n.Apply(DelCmd("short", 21));
  EXPECT_TRUE(del.status.ok());
  EXPECT_FALSE(del.deleted);
  ApplyResult set = n.Apply(SetCmd("short", "again", 22));
  EXPECT_EQ(set.version, 1u);
}

// The cache is memory only: after a restart versions and sessions come
// from RocksDB and continue where they were.
TEST(ApplyCacheTest, VersionsAndSessionsSurviveRestart) {
  Node n;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    n.Apply(WithClient(SetCmd("k", "v", 1), 5, seq));
  }
  n.Open();
  ApplyResult dup = n.Apply(WithClient(SetCmd("k", "v", 1), 5, 3));
  EXPECT_EQ(dup.version, 3u);  // the stored result of sequence 3
  ApplyResult next = n.Apply(WithClient(SetCmd("k", "v", 1), 5, 4));
  EXPECT_EQ(next.version, 4u);
  ApplyResult older = n.Apply(WithClient(SetCmd("k", "v", 1), 5, 2));
  EXPECT_EQ(older.status.code(), Code::kFailedPrecondition);
}

// Commands of one entry see each other's writes through the overlay, and
// a failed condition reports the version written earlier in the batch.
TEST(ApplyCacheTest, CommandsOfOneEntrySeeEachOther) {
  Node n;
  internal::Command wrong = SetCmd("k", "z", 1);
  wrong.mutable_set()->set_if_version(1);
  std::vector<ApplyResult> out =
      n.Apply({SetCmd("k", "a", 1), SetCmd("k", "b", 1), wrong, DelCmd("k", 1),
               SetCmd("k", "c", 1)});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1].version, 2u);
  EXPECT_EQ(out[2].status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(out[2].current_version, 2u);
  EXPECT_TRUE(out[3].deleted);
  EXPECT_EQ(out[4].version, 1u);
  EXPECT_EQ(n.Read("k").value, "c");
}

}  // namespace
}  // namespace shardkv::storage
