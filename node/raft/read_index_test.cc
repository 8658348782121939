// Linearizable reads with ReadIndex, batched per heartbeat round [§6.4].
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

bool IsReadHeartbeat(const Message& m) {
  return m.type == MessageType::kHeartbeat && !m.context.empty();
}

class ReadIndexTest : public ::testing::Test {
 protected:
  ReadIndexTest() : c_(SimOptions{}) {
    c_.node(1)->Campaign();
    EXPECT_TRUE(c_.Settle());
  }
  SimCluster c_;
};

TEST_F(ReadIndexTest, Section6_4_ReleasedOnceAQuorumConfirmsLeadership) {
  auto pos = c_.Propose(1, "w");
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(c_.Settle());
  ASSERT_TRUE(c_.ReadIndex(1, "r1").ok());
  EXPECT_TRUE(c_.read_states(1).empty());  // not before the round
  ASSERT_TRUE(c_.Settle());
  ASSERT_EQ(c_.read_states(1).size(), 1u);
  EXPECT_EQ(c_.read_states(1)[0].context, "r1");
  EXPECT_EQ(c_.read_states(1)[0].index, pos->front().index);
  EXPECT_EQ(c_.violation(), "");
}

TEST_F(ReadIndexTest, Section6_4_RequestsAreBatchedIntoRounds) {
  int read_heartbeats = 0;
  bool hold = true;
  c_.set_filter([&](const Message& m) {
    if (IsReadHeartbeat(m)) ++read_heartbeats;
    return hold && m.type == MessageType::kHeartbeatResponse;
  });
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c_.ReadIndex(1, "r" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(c_.Settle());
  EXPECT_EQ(read_heartbeats, 2);  // one round to the two followers
  EXPECT_TRUE(c_.read_states(1).empty());
  hold = false;
  c_.Tick(1);  // the heartbeat retransmits the round in flight
  ASSERT_TRUE(c_.Settle());
  // r0 went in the first round, r1..r4 were queued and sent together.
  EXPECT_EQ(c_.read_states(1).size(), 5u);
  EXPECT_EQ(read_heartbeats, 2 + 2 + 2);
}

TEST_F(ReadIndexTest, Section6_4_PartitionedLeaderReleasesNoRead) {
  c_.Isolate(1);
  ASSERT_TRUE(c_.ReadIndex(1, "stale?").ok());
  c_.Run(30);
  EXPECT_TRUE(c_.read_states(1).empty());
}

TEST_F(ReadIndexTest, Section6_4_FollowerRefuses) {
  EXPECT_EQ(c_.node(2)->ReadIndex("x").code(), Code::kFailedPrecondition);
}

TEST(ReadIndexSingleTest, Section6_4_RefusedUntilLeaderCommitsInItsTerm) {
  Config config;
  config.pre_vote = false;
  SingleNode n(1, {1, 2, 3}, config);
  n.Elect({2});
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  // The no-op of the new term is not committed yet.
  EXPECT_FALSE(n.raw().ReadIndex("r").ok());
  Message ack;
  ack.type = MessageType::kAppendResponse;
  ack.from = 2;
  ack.term = n.status().hard_state.term;
  ack.index = n.status().last_index;
  n.Deliver(ack);
  EXPECT_TRUE(n.raw().ReadIndex("r").ok());
}

TEST(ReadIndexSingleTest, Section6_4_SingleVoterAnswersAtOnce) {
  SingleNode n(1, {1});
  n.raw().Campaign();
  n.Drain();
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  ASSERT_TRUE(n.raw().ReadIndex("solo").ok());
  n.Drain();
  ASSERT_EQ(n.read_states().size(), 1u);
  EXPECT_EQ(n.read_states()[0].index, n.status().hard_state.commit);
}

}  // namespace
}  // namespace shardkv::raft::testing
