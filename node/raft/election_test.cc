// Leader election [§3.4, §3.6.1], PreVote [§9.6], CheckQuorum and the
// leader lease [§6.2, §4.2.3].
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

SimOptions Three(bool pre_vote = true) {
  SimOptions o;
  o.voters = 3;
  o.raft.pre_vote = pre_vote;
  return o;
}

Message VoteMsg(MessageType type, NodeId from, Term term, Index last_index,
                Term last_term) {
  Message m;
  m.type = type;
  m.from = from;
  m.term = term;
  m.index = last_index;
  m.log_term = last_term;
  return m;
}

TEST(ElectionTest, Section3_4_CandidateWinsWithMajority) {
  SimCluster c(Three());
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(c.Leader(), 1u);
  for (NodeId id : {2, 3}) {
    RaftStatus s = c.node(id)->GetStatus();
    EXPECT_EQ(s.soft_state.leader, 1u);
    EXPECT_EQ(s.soft_state.role, Role::kFollower);
  }
  EXPECT_EQ(c.violation(), "");
}

TEST(ElectionTest, Section3_4_CandidateWithoutMajorityDoesNotWin) {
  SimCluster c(Three(/*pre_vote=*/false));
  c.Partition({1});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  RaftStatus s = c.node(1)->GetStatus();
  EXPECT_EQ(s.soft_state.role, Role::kCandidate);
  EXPECT_EQ(c.Leader(), kNoNode);
}

TEST(ElectionTest, Section3_4_RandomizedTimeoutsElectExactlyOneLeader) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimOptions o = Three();
    o.seed = seed;
    SimCluster c(o);
    ASSERT_TRUE(c.RunUntil([&] { return c.Leader() != kNoNode; }, 200))
        << "seed " << seed;
    c.Run(100);
    EXPECT_EQ(c.violation(), "") << "seed " << seed;
  }
}

TEST(ElectionTest, Section3_4_TimeoutIsRandomizedInRangeAndSeeded) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Config config;
    config.election_tick = 10;
    config.random_seed = seed;
    SingleNode n(1, {1, 2, 3}, config);
    int ticks = 0;
    while (n.status().soft_state.role == Role::kFollower && ticks < 100) {
      n.raw().Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10) << "seed " << seed;
    EXPECT_LT(ticks, 20) << "seed " << seed;
    seen.insert(ticks);
    // The same seed gives the same timeout.
    SingleNode again(1, {1, 2, 3}, config);
    int ticks_again = 0;
    while (again.status().soft_state.role == Role::kFollower) {
      again.raw().Tick();
      ++ticks_again;
    }
    EXPECT_EQ(ticks, ticks_again);
  }
  EXPECT_GT(seen.size(), 3u);
}

TEST(ElectionTest, Section3_4_GrantsAtMostOneVotePerTerm) {
  SingleNode n(1, {1, 2, 3});
  auto r1 = n.Deliver(VoteMsg(MessageType::kVote, 2, 5, 3, 1));
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_FALSE(r1[0].reject);
  auto r2 = n.Deliver(VoteMsg(MessageType::kVote, 3, 5, 3, 1));
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_TRUE(r2[0].reject);
  // Repeating the granted request is answered the same way.
  auto r3 = n.Deliver(VoteMsg(MessageType::kVote, 2, 5, 3, 1));
  ASSERT_EQ(r3.size(), 1u);
  EXPECT_FALSE(r3[0].reject);
  // The vote was persisted before the response was handed out.
  EXPECT_EQ(n.storage().InitialHardState().vote, 2u);
}

TEST(ElectionTest, Section3_6_1_RejectsCandidateWithLessUpToDateLog) {
  Config config;
  config.check_quorum = false;  // no lease: consider every request
  SingleNode n(1, {1, 2, 3}, config);
  n.Deliver(AppendMsg(2, 3, 3, 1, {MakeEntry(4, 3)}, 3));
  // Lower last term loses even with a longer log.
  auto r = n.Deliver(VoteMsg(MessageType::kVote, 3, 4, 10, 2));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].reject);
  // Same last term, shorter log loses too.
  r = n.Deliver(VoteMsg(MessageType::kVote, 3, 5, 3, 3));
  ASSERT_EQ(OfType(r, MessageType::kVoteResponse).size(), 1u);
  EXPECT_TRUE(r[0].reject);
}

TEST(ElectionTest, Section3_3_LeaderStepsDownOnHigherTerm) {
  SingleNode n(1, {1, 2, 3}, Config{.pre_vote = false});
  n.Elect({2});
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  Term term = n.status().hard_state.term;
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.from = 2;
  resp.term = term + 3;
  n.Deliver(resp);
  EXPECT_EQ(n.status().soft_state.role, Role::kFollower);
  EXPECT_EQ(n.status().hard_state.term, term + 3);
}

TEST(ElectionTest, Section4_2_1_LearnerNeverCampaigns) {
  auto storage = std::make_unique<MemoryLogStorage>(ConfState{{2, 3}, {1}});
  SingleNode n(1, std::move(storage));
  std::vector<Message> sent;
  for (int i = 0; i < 100; ++i) {
    n.raw().Tick();
    auto out = n.Drain();
    sent.insert(sent.end(), out.begin(), out.end());
  }
  n.raw().Campaign();
  auto out = n.Drain();
  sent.insert(sent.end(), out.begin(), out.end());
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(n.status().soft_state.role, Role::kFollower);
}

TEST(PreVoteTest, Section9_6_PreVoteChangesNeitherTermNorVote) {
  SingleNode n(1, {1, 2, 3});
  Term term = n.status().hard_state.term;
  auto r = n.Deliver(VoteMsg(MessageType::kPreVote, 2, term + 1, 100, 9));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, MessageType::kPreVoteResponse);
  EXPECT_FALSE(r[0].reject);
  EXPECT_EQ(r[0].term, term + 1);
  EXPECT_EQ(n.status().hard_state.term, term);
  EXPECT_EQ(n.status().hard_state.vote, kNoNode);
}

TEST(PreVoteTest, Section9_6_PartitionedNodeDoesNotDisruptLeader) {
  SimCluster c(Three());
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  Term term = c.node(1)->GetStatus().hard_state.term;
  c.Isolate(3);
  c.Run(200);  // node 3 times out again and again
  EXPECT_EQ(c.node(3)->GetStatus().hard_state.term, term);
  c.Heal();
  c.Run(50);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1)->GetStatus().hard_state.term, term);
  EXPECT_EQ(c.violation(), "");
}

TEST(PreVoteTest, Section9_6_WithoutPreVoteTheRejoiningNodeDisrupts) {
  SimOptions o = Three(/*pre_vote=*/false);
  o.raft.check_quorum = false;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  Term term = c.node(1)->GetStatus().hard_state.term;
  c.Isolate(3);
  c.Run(200);
  EXPECT_GT(c.node(3)->GetStatus().hard_state.term, term + 3);
  c.Heal();
  c.Run(100);
  // The cluster had to move to a new term: the disruption PreVote avoids.
  NodeId leader = c.Leader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_GT(c.node(leader)->GetStatus().hard_state.term, term);
}

TEST(CheckQuorumTest, Section6_2_LeaderWithoutQuorumStepsDown) {
  SimCluster c(Three());
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  c.Isolate(1);
  // One election timeout to notice, a second to conclude.
  for (int i = 0; i <= 2 * 10; ++i) {
    c.Tick(1);
  }
  EXPECT_NE(c.node(1)->GetStatus().soft_state.role, Role::kLeader);
}

TEST(CheckQuorumTest, Section4_2_3_FollowerIgnoresVotesWhileLeaderIsLive) {
  Config config;
  config.pre_vote = false;
  SingleNode n(1, {1, 2, 3}, config);
  n.Deliver(AppendMsg(2, 2, 3, 1, {}, 3));  // leader 2 is alive
  auto r = n.Deliver(VoteMsg(MessageType::kVote, 3, 9, 100, 9));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(n.status().hard_state.term, 2u);
  // Once the lease expires, the vote is considered.
  for (int i = 0; i < config.election_tick; ++i) n.raw().Tick();
  n.Drain();
  r = n.Deliver(VoteMsg(MessageType::kVote, 3, 9, 100, 9));
  ASSERT_EQ(OfType(r, MessageType::kVoteResponse).size(), 1u);
  EXPECT_FALSE(OfType(r, MessageType::kVoteResponse)[0].reject);
  EXPECT_EQ(n.status().hard_state.term, 9u);
}

TEST(CheckQuorumTest, Section6_2_StaleLeaderLearnsNewTermFromFollower) {
  SingleNode n(1, {1, 2, 3});
  n.Deliver(AppendMsg(2, 5, 3, 1, {}, 3));
  auto r = n.Deliver(AppendMsg(3, 4, 3, 1, {}, 3));  // deposed leader 3
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, MessageType::kAppendResponse);
  EXPECT_EQ(r[0].term, 5u);
}

}  // namespace
}  // namespace shardkv::raft::testing
