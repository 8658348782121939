// Log replication [§3.5], commitment and the Figure 8 rule [§3.6.2], flow
// control [§10.2] and proposal admission.
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

Message AppendResp(NodeId from, Term term, Index index, bool reject = false,
                   Index hint = 0) {
  Message m;
  m.type = MessageType::kAppendResponse;
  m.from = from;
  m.term = term;
  m.index = index;
  m.reject = reject;
  m.reject_hint = hint;
  return m;
}

TEST(LogReplicationTest, Section3_5_LeaderReplicatesAndCommitsOnAll) {
  SimOptions o;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  auto pos = c.Propose(1, "hello");
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(c.Settle());
  EXPECT_TRUE(c.Committed(pos->front()));
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(c.image(id).applied, pos->front().index) << id;
  }
  EXPECT_EQ(c.violation(), "");
}

TEST(LogReplicationTest, Section3_5_RejectsMismatchedPrevLog) {
  SingleNode n(1, {1, 2, 3});
  // Bootstrap left entries 1..3 of term 1; the leader claims 5 exists.
  auto r = n.Deliver(AppendMsg(2, 2, 5, 2, {MakeEntry(6, 2)}, 0));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].reject);
  EXPECT_EQ(r[0].index, 5u);
  EXPECT_EQ(r[0].reject_hint, 3u);  // our last index: skip straight there
  // Matching index, wrong term.
  r = n.Deliver(AppendMsg(2, 2, 3, 2, {MakeEntry(4, 2)}, 0));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].reject);
  EXPECT_EQ(n.status().last_index, 3u);
}

TEST(LogReplicationTest, Section3_5_TruncatesConflictingSuffix) {
  SingleNode n(1, {1, 2, 3});
  n.Deliver(
      AppendMsg(2, 2, 3, 1, {MakeEntry(4, 2, "a"), MakeEntry(5, 2, "b")}, 3));
  // A later leader of term 3 replaces index 5.
  auto r = n.Deliver(AppendMsg(3, 3, 4, 2, {MakeEntry(5, 3, "c")}, 5));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].reject);
  EXPECT_EQ(r[0].index, 5u);
  EXPECT_EQ(*n.storage().TermAt(5), 3u);
  ASSERT_FALSE(n.applied().empty());
  EXPECT_EQ(n.applied().back().data, "c");
}

TEST(LogReplicationTest, Section3_5_RejectHintBacktracksInFewRoundTrips) {
  SimOptions o;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Crash(3);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.Propose(1, "x").ok());
  ASSERT_TRUE(c.Settle());
  int rejections = 0;
  c.set_filter([&](const Message& m) {
    if (m.type == MessageType::kAppendResponse && m.reject) ++rejections;
    return false;
  });
  c.Restart(3);
  // A heartbeat round tells the leader that 3 is behind.
  c.Tick(1);
  ASSERT_TRUE(c.Settle());
  EXPECT_LE(rejections, 2);
  EXPECT_EQ(c.image(3).applied, c.image(1).applied);
}

TEST(LogReplicationTest, Section3_5_StaleLongerTailIsSkippedByTerm) {
  SimOptions o;
  o.seed = 3;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  // Deposed leader 1 keeps appending entries nobody else gets.
  c.Isolate(1);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.Propose(1, "lost").ok());
  ASSERT_TRUE(
      c.RunUntil([&] { return c.Leader() == 2 || c.Leader() == 3; }, 500));
  NodeId leader = c.Leader();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Propose(leader, "kept").ok());
  ASSERT_TRUE(c.Settle());
  // A fresh election: the next leader starts probing node 1 at its end.
  c.Crash(leader);
  c.Restart(leader);
  ASSERT_TRUE(
      c.RunUntil([&] { return c.Leader() == 2 || c.Leader() == 3; }, 500));
  leader = c.Leader();
  ASSERT_TRUE(c.Settle());
  ASSERT_GT(c.node(1)->GetStatus().last_index,
            c.node(leader)->GetStatus().last_index);
  int rejections = 0;
  c.set_filter([&](const Message& m) {
    if (m.type == MessageType::kAppendResponse && m.reject) ++rejections;
    return false;
  });
  c.Heal();
  ASSERT_TRUE(
      c.RunUntil([&] { return c.image(1).hash == c.image(leader).hash; }, 300));
  // One rejection, then the leader skips all of its term's entries.
  EXPECT_LE(rejections, 2) << c.DebugString();
  EXPECT_EQ(c.violation(), "");
}

TEST(SafetyTest, Figure8_LeaderCommitsOnlyEntriesOfItsTermByCounting) {
  // Node 1 has an entry of term 2 at index 4 that no one else has.
  auto storage = std::make_unique<MemoryLogStorage>(ConfState{{1, 2, 3}, {}});
  std::vector<Entry> log;
  for (Index i = 1; i <= 3; ++i) {
    ConfChange cc{ConfChangeType::kPromote, i, ""};
    log.push_back(Entry{1, i, EntryType::kConfChange, cc.Encode()});
  }
  log.push_back(MakeEntry(4, 2, "from-term-2"));
  ASSERT_TRUE(storage->Append(log).ok());
  storage->SetHardState({3, 0, 3});
  Config config;
  config.pre_vote = false;
  config.applied = 3;
  SingleNode n(1, std::move(storage), config);
  n.Elect({2});
  RaftStatus s = n.status();
  ASSERT_EQ(s.soft_state.role, Role::kLeader);
  ASSERT_EQ(s.hard_state.term, 4u);
  ASSERT_EQ(s.last_index, 5u);  // index 5: the no-op of term 4
  // Index 4 is now on a majority (1 and 2), but it is of term 2: a later
  // leader could still overwrite it (Figure 8 (c)->(d)), so no commit.
  n.Deliver(AppendResp(2, 4, 4));
  EXPECT_EQ(n.status().hard_state.commit, 3u);
  // Once the no-op of term 4 is on a majority, both commit.
  n.Deliver(AppendResp(2, 4, 5));
  EXPECT_EQ(n.status().hard_state.commit, 5u);
}

TEST(SafetyTest, Figure8_ScenarioKeepsCommittedEntries) {
  // The Figure 8 dance on five nodes with crashes, checked by the
  // invariant checker after every step.
  SimOptions o;
  o.voters = 5;
  o.raft.pre_vote = false;
  o.raft.check_quorum = false;  // the figure predates leader leases
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  // (a) 1 leads term 2 and replicates an entry only to 2.
  c.Partition({1, 2});
  ASSERT_TRUE(c.Propose(1, "a").ok());
  ASSERT_TRUE(c.Settle());
  // (b) 1 crashes; 5 leads term 3 with 3 and 4, appends "b" alone.
  c.Crash(1);
  c.Partition({3, 4, 5});
  // 5's appends (its no-op too) never leave it.
  c.set_filter([](const Message& m) {
    return m.from == 5 && m.type == MessageType::kAppend;
  });
  c.node(5)->Campaign();
  ASSERT_TRUE(c.Settle());
  ASSERT_EQ(c.Leader(), 5u);
  ASSERT_TRUE(c.Propose(5, "b").ok());
  ASSERT_TRUE(c.Settle());
  c.set_filter(nullptr);
  // (c) 5 crashes; 1 restarts, leads with 2 and 3 and replicates "a".
  c.Crash(5);
  c.Restart(1);
  c.Partition({1, 2, 3});
  // Term 3 is lost (3 voted for 5 in it); term 4 is won.
  for (int attempt = 0; attempt < 2 && c.Leader() != 1; ++attempt) {
    c.node(1)->Campaign();
    ASSERT_TRUE(c.Settle());
  }
  ASSERT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1)->GetStatus().hard_state.term, 4u);
  // (d)/(e) everyone back: whatever got committed must survive.
  c.Restart(5);
  c.Heal();
  c.Run(300);
  EXPECT_EQ(c.violation(), "");
  NodeId leader = c.Leader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id : {1, 2, 3, 4, 5}) {
    EXPECT_EQ(c.image(id).hash, c.image(leader).hash) << id;
  }
}

TEST(FlowControlTest, Section10_2_InflightWindowBoundsPipelinedAppends) {
  SimOptions o;
  o.raft.max_inflight_appends = 3;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  // Node 2's acknowledgements are lost; node 3 stays in sync.
  int appends_to_2 = 0;
  c.set_filter([&](const Message& m) {
    // Empty appends only carry the commit index; they take no window slot.
    if (m.type == MessageType::kAppend && m.to == 2 && !m.entries.empty()) {
      ++appends_to_2;
    }
    return m.type == MessageType::kAppendResponse && m.from == 2;
  });
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.Propose(1, "p" + std::to_string(i)).ok());
    ASSERT_TRUE(c.Settle());
  }
  EXPECT_EQ(appends_to_2, 3);
  EXPECT_EQ(c.node(1)->GetStatus().progress.at(2).state,
            Progress::State::kReplicate);
  // Acknowledgements flow again: the window drains and 2 catches up.
  c.set_filter(nullptr);
  c.Tick(1);
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(c.image(2).applied, c.image(1).applied);
}

TEST(FlowControlTest, Section10_2_AppendsAreBatchedUpToMaxBytes) {
  SimOptions o;
  o.raft.max_bytes_per_append = 250;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Isolate(2);
  std::vector<std::string> batch(10, std::string(100, 'v'));
  ASSERT_TRUE(c.node(1)->Propose(batch).ok());
  ASSERT_TRUE(c.Settle());
  size_t max_entries = 0;
  int appends = 0;
  c.set_filter([&](const Message& m) {
    if (m.type == MessageType::kAppend && m.to == 2 && !m.entries.empty()) {
      max_entries = std::max(max_entries, m.entries.size());
      ++appends;
    }
    return false;
  });
  c.Heal();
  c.Tick(1);
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(max_entries, 2u);
  EXPECT_GE(appends, 5);
  EXPECT_EQ(c.image(2).applied, c.image(1).applied);
}

TEST(ProposalTest, RefusedBeyondMaxUncommittedBytes) {
  SimOptions o;
  o.raft.max_uncommitted_bytes = 1000;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Isolate(1);
  ASSERT_TRUE(c.Propose(1, std::string(600, 'a')).ok());
  auto refused = c.Propose(1, std::string(600, 'b'));
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
  c.Heal();
  c.Tick(1);
  ASSERT_TRUE(c.Settle());
  EXPECT_TRUE(c.Propose(1, std::string(600, 'b')).ok());
}

TEST(LogReplicationTest, RestartKeepsPersistedStateAndDoesNotReapply) {
  SimCluster c(SimOptions{});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Propose(1, "x").ok());
  ASSERT_TRUE(c.Settle());
  c.Tick(1);  // a heartbeat tells followers the final commit index
  ASSERT_TRUE(c.Settle());
  RaftStatus before = c.node(2)->GetStatus();
  c.Crash(2);
  c.Restart(2);
  RaftStatus after = c.node(2)->GetStatus();
  EXPECT_EQ(after.hard_state, before.hard_state);
  EXPECT_EQ(after.last_index, before.last_index);
  EXPECT_EQ(after.applied, before.applied);
  EXPECT_EQ(after.conf, before.conf);
  EXPECT_FALSE(c.node(2)->HasReady());  // nothing to re-apply or resend
  EXPECT_EQ(after.soft_state.role, Role::kFollower);
}

TEST(ProposalTest, FollowerRefusesProposals) {
  SimCluster c(SimOptions{});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(c.Propose(2, "x").status().code(), Code::kFailedPrecondition);
}

TEST(ProposalTest, CommittedEntriesArePagedPerReady) {
  SimOptions o;
  o.voters = 1;
  o.raft.max_committed_bytes_per_ready = 300;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  std::vector<std::string> batch(10, std::string(100, 'v'));
  ASSERT_TRUE(c.node(1)->Propose(batch).ok());
  Ready rd = c.node(1)->GetReady();
  EXPECT_EQ(rd.committed_entries.size(), 3u);
}

}  // namespace
}  // namespace shardkv::raft::testing
