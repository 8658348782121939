// What a leader lease on reads rests on [thesis §6.4.1]: voters that heard
// from the leader, or that just restarted, refuse other candidates for an
// election timeout; LeaseView reports what ends a lease early.
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

Message Vote(MessageType type, NodeId from, Term term) {
  Message m;
  m.type = type;
  m.from = from;
  m.term = term;
  m.index = 100;  // a log far ahead: only the lease can refuse
  m.log_term = term;
  return m;
}

bool Granted(const std::vector<Message>& out, MessageType response) {
  auto r = OfType(out, response);
  return r.size() == 1 && !r[0].reject;
}

TEST(ReadLeaseTest,
     Section6_4_1_RestartedVoterRefusesVotesForAnElectionTimeout) {
  for (MessageType type : {MessageType::kVote, MessageType::kPreVote}) {
    MessageType response = type == MessageType::kVote
                               ? MessageType::kVoteResponse
                               : MessageType::kPreVoteResponse;
    Config config;
    config.refuse_votes_after_start = true;
    SingleNode n(1, {1, 2, 3}, config);
    // It may have acknowledged a leader just before it went down.
    for (int i = 0; i < config.election_tick - 1; ++i) {
      n.raw().Tick();
      EXPECT_FALSE(Granted(n.Deliver(Vote(type, 3, 9)), response)) << i;
    }
    n.raw().Tick();
    n.Drain();
    EXPECT_TRUE(Granted(n.Deliver(Vote(type, 3, 9)), response));
  }
}

TEST(ReadLeaseTest, Section6_4_1_WithoutTheOptionAFreshVoterVotesAtOnce) {
  SingleNode n(1, {1, 2, 3});
  EXPECT_TRUE(Granted(n.Deliver(Vote(MessageType::kVote, 3, 9)),
                      MessageType::kVoteResponse));
}

TEST(ReadLeaseTest, Section6_4_1_ATransferCampaignIgnoresTheQuietPeriod) {
  Config config;
  config.refuse_votes_after_start = true;
  SingleNode n(1, {1, 2, 3}, config);
  Message m = Vote(MessageType::kVote, 3, 9);
  m.context = "transfer";  // sent after kTimeoutNow
  EXPECT_TRUE(Granted(n.Deliver(m), MessageType::kVoteResponse));
}

TEST(ReadLeaseTest, Section6_4_1_LeaseViewShowsLeadershipCommitAndHandovers) {
  SimOptions o;
  o.voters = 3;
  SimCluster c(o);
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  LeaseView v = c.node(1)->GetLeaseView();
  EXPECT_TRUE(v.leader_ready);
  EXPECT_EQ(v.term, c.node(1)->GetStatus().hard_state.term);
  EXPECT_EQ(v.committed, c.node(1)->GetStatus().hard_state.commit);
  EXPECT_EQ(v.handovers, 0u);
  EXPECT_FALSE(c.node(2)->GetLeaseView().leader_ready);

  ASSERT_TRUE(c.Propose(1, "x").ok());
  ASSERT_TRUE(c.Settle());
  EXPECT_EQ(c.node(1)->GetLeaseView().committed, v.committed + 1);

  // kTimeoutNow ends the lease even before the target has won.
  c.set_filter([](const Message& m) {
    return m.type == MessageType::kTimeoutNow;  // dropped
  });
  ASSERT_TRUE(c.node(1)->TransferLeadership(2).ok());
  ASSERT_TRUE(c.Settle());
  LeaseView after = c.node(1)->GetLeaseView();
  EXPECT_EQ(after.handovers, 1u);
  EXPECT_TRUE(after.leader_ready);  // still leader: the message was lost
  EXPECT_EQ(c.violation(), "");
}

TEST(ReadLeaseTest, Section6_4_1_NoLeaderReadyBeforeACommitInTheTerm) {
  SingleNode n(1, {1, 2, 3});
  n.Elect({2});
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  // Its no-op is not acknowledged yet: it does not know the commit index.
  EXPECT_FALSE(n.raw().GetLeaseView().leader_ready);
}

}  // namespace
}  // namespace shardkv::raft::testing
