// Log compaction and InstallSnapshot [§5].
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

Message SnapshotMsg(NodeId from, Term term, SnapshotMeta meta) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = from;
  m.term = term;
  m.snapshot = std::move(meta);
  return m;
}

TEST(SnapshotTest, Section5_LaggingFollowerGetsSnapshotAfterCompaction) {
  SimCluster c(SimOptions{});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Crash(3);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.Propose(1, "x").ok());
  ASSERT_TRUE(c.Settle());
  c.Compact(1);
  c.Compact(2);
  Index compacted = c.storage(1).Snapshot().index;
  ASSERT_GT(compacted, 30u);
  int snapshots_sent = 0;
  c.set_filter([&](const Message& m) {
    if (m.type == MessageType::kSnapshot && m.to == 3) {
      ++snapshots_sent;
      EXPECT_EQ(m.snapshot.index, compacted);
      EXPECT_EQ(m.snapshot.conf.voters, (std::vector<NodeId>{1, 2, 3}));
    }
    return false;
  });
  c.Restart(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Propose(1, "y").ok());
  c.Run(30);
  EXPECT_EQ(snapshots_sent, 1);
  EXPECT_EQ(c.stats().snapshots_installed, 1u);
  EXPECT_EQ(c.storage(3).FirstIndex(), compacted + 1);
  EXPECT_EQ(c.image(3).hash, c.image(1).hash);
  EXPECT_EQ(c.node(1)->GetStatus().progress.at(3).state,
            Progress::State::kReplicate);
  EXPECT_EQ(c.violation(), "");
}

TEST(SnapshotTest, Section5_FailedSnapshotIsRetried) {
  SimCluster c(SimOptions{});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Crash(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Propose(1, "x").ok());
  ASSERT_TRUE(c.Settle());
  c.Compact(1);
  int attempts = 0;
  c.set_filter([&](const Message& m) {
    // The first stream fails (reported by the harness as a failure).
    return m.type == MessageType::kSnapshot && ++attempts == 1;
  });
  c.Restart(3);
  c.Run(50);
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(c.image(3).hash, c.image(1).hash);
}

TEST(SnapshotTest, Section5_1_FollowerRestoresAndExposesSnapshot) {
  SingleNode n(2, {1, 2, 3});
  SnapshotMeta meta{50, 4, {{1, 2, 3}, {}}};
  auto r = n.Deliver(SnapshotMsg(1, 5, meta));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, MessageType::kAppendResponse);
  EXPECT_FALSE(r[0].reject);
  EXPECT_EQ(r[0].index, 50u);
  ASSERT_TRUE(n.last_snapshot().has_value());
  EXPECT_EQ(*n.last_snapshot(), meta);
  RaftStatus s = n.status();
  EXPECT_EQ(s.hard_state.commit, 50u);
  EXPECT_EQ(s.last_index, 50u);
  EXPECT_EQ(s.applied, 50u);
  // Replication continues right after the snapshot.
  r = n.Deliver(AppendMsg(1, 5, 50, 4, {MakeEntry(51, 5)}, 51));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].reject);
  EXPECT_EQ(n.applied().back().index, 51u);
}

TEST(SnapshotTest, Section5_1_StaleSnapshotIsIgnored) {
  SingleNode n(2, {1, 2, 3});
  n.Deliver(AppendMsg(1, 2, 3, 1, {MakeEntry(4, 2), MakeEntry(5, 2)}, 5));
  auto r = n.Deliver(SnapshotMsg(1, 2, {4, 2, {{1, 2, 3}, {}}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].index, 5u);  // our commit index
  EXPECT_FALSE(n.last_snapshot().has_value());
}

TEST(SnapshotTest, Section5_1_SnapshotOfEntriesWeHaveOnlyCommits) {
  SingleNode n(2, {1, 2, 3});
  n.Deliver(AppendMsg(1, 2, 3, 1, {MakeEntry(4, 2), MakeEntry(5, 2)}, 3));
  auto r = n.Deliver(SnapshotMsg(1, 2, {4, 2, {{1, 2, 3}, {}}}));
  EXPECT_FALSE(n.last_snapshot().has_value());
  EXPECT_EQ(n.status().hard_state.commit, 4u);
  EXPECT_EQ(n.status().last_index, 5u);  // the entry after it survives
}

TEST(SnapshotTest, Section5_CompactionUnderTheLeaderDuringReplication) {
  SimOptions o;
  o.raft.max_inflight_appends = 2;
  o.raft.max_bytes_per_append = 10;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Crash(3);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c.Propose(1, "entry").ok());
  ASSERT_TRUE(c.Settle());
  c.Restart(3);
  // Compact repeatedly while node 3 is being caught up.
  for (int step = 0; step < 100; ++step) {
    c.Step();
    if (step % 5 == 0) c.Compact(1);
    if (step % 7 == 0) {
      ASSERT_TRUE(c.Propose(1, "more").ok());
    }
  }
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(c.violation(), "");
  EXPECT_EQ(c.image(3).hash, c.image(1).hash);
}

}  // namespace
}  // namespace shardkv::raft::testing
