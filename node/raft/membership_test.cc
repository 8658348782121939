// Single-server membership changes through learners [§4.1-4.2].
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : c_(Options()) {
    c_.node(1)->Campaign();
    EXPECT_TRUE(c_.Settle());
  }

  static SimOptions Options() {
    SimOptions o;
    o.voters = 3;
    return o;
  }

  // Proposes `cc` at the leader and lets it commit and apply everywhere.
  void Change(ConfChangeType type, NodeId node) {
    auto pos = c_.node(c_.Leader())->ProposeConfChange({type, node, ""});
    ASSERT_TRUE(pos.ok()) << pos.status().ToString();
    ASSERT_TRUE(c_.Settle());
    ASSERT_TRUE(c_.Committed(*pos));
  }

  SimCluster c_;
};

TEST_F(MembershipTest, Section4_2_1_LearnerCatchesUpThenIsPromoted) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c_.Propose(1, "x").ok());
  ASSERT_TRUE(c_.Settle());
  c_.AddNode(4);
  Change(ConfChangeType::kAddLearner, 4);
  c_.Tick(1);
  ASSERT_TRUE(c_.Settle());
  EXPECT_EQ(c_.image(4).applied, c_.image(1).applied);
  RaftStatus s = c_.node(1)->GetStatus();
  EXPECT_EQ(s.conf.learners, (std::vector<NodeId>{4}));
  EXPECT_TRUE(s.progress.at(4).learner);
  Change(ConfChangeType::kPromote, 4);
  s = c_.node(1)->GetStatus();
  EXPECT_EQ(s.conf.voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_TRUE(s.conf.learners.empty());
  // The new member learned the whole membership from the log.
  EXPECT_EQ(c_.node(4)->GetStatus().conf, s.conf);
  EXPECT_EQ(c_.violation(), "");
}

TEST_F(MembershipTest, Section4_2_1_LearnerDoesNotCountTowardQuorum) {
  c_.AddNode(4);
  c_.AddNode(5);
  Change(ConfChangeType::kAddLearner, 4);
  Change(ConfChangeType::kAddLearner, 5);
  // Voters 2 and 3 are gone: the two learners cannot make a majority.
  c_.Crash(2);
  c_.Crash(3);
  auto pos = c_.Propose(1, "needs-a-voter");
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(c_.Settle());
  EXPECT_FALSE(c_.Committed(pos->front()));
  EXPECT_EQ(c_.node(4)->GetStatus().last_index, pos->front().index);
  c_.Restart(2);
  c_.Tick(1);
  ASSERT_TRUE(c_.Settle());
  EXPECT_TRUE(c_.Committed(pos->front()));
}

TEST_F(MembershipTest, Section4_1_OnlyOneChangeAtATime) {
  c_.AddNode(4);
  c_.Isolate(1);  // keep the first change from committing
  ASSERT_TRUE(
      c_.node(1)->ProposeConfChange({ConfChangeType::kAddLearner, 4, ""}).ok());
  EXPECT_TRUE(c_.node(1)->GetStatus().pending_conf_change);
  auto second =
      c_.node(1)->ProposeConfChange({ConfChangeType::kAddLearner, 5, ""});
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  c_.Heal();
  c_.Tick(1);
  ASSERT_TRUE(c_.Settle());
  EXPECT_FALSE(c_.node(1)->GetStatus().pending_conf_change);
  EXPECT_TRUE(
      c_.node(1)->ProposeConfChange({ConfChangeType::kAddLearner, 5, ""}).ok());
}

TEST_F(MembershipTest, InvalidChangesAreRefused) {
  RawNode* leader = c_.node(1);
  EXPECT_EQ(leader->ProposeConfChange({ConfChangeType::kPromote, 2, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);  // already a voter
  EXPECT_EQ(leader->ProposeConfChange({ConfChangeType::kAddLearner, 3, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);  // already a member
  EXPECT_EQ(leader->ProposeConfChange({ConfChangeType::kRemove, 9, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);  // not a member
  EXPECT_EQ(c_.node(2)
                ->ProposeConfChange({ConfChangeType::kAddLearner, 4, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);  // not the leader
  SingleNode single(1, {1});
  single.raw().Campaign();
  single.Drain();
  EXPECT_EQ(single.raw()
                .ProposeConfChange({ConfChangeType::kRemove, 1, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);  // the last voter
}

TEST_F(MembershipTest, Section4_2_2_RemovedLeaderStepsDown) {
  Change(ConfChangeType::kRemove, 1);
  EXPECT_NE(c_.node(1)->GetStatus().soft_state.role, Role::kLeader);
  // It handed over with kTimeoutNow: a new leader without any timeout.
  ASSERT_TRUE(c_.Settle());
  EXPECT_TRUE(c_.Leader() == 2 || c_.Leader() == 3) << c_.DebugString();
  ASSERT_TRUE(c_.RunUntil(
      [&] {
        NodeId l = c_.Leader();
        return l == 2 || l == 3;
      },
      500));
  NodeId leader = c_.Leader();
  EXPECT_EQ(c_.node(leader)->GetStatus().conf.voters,
            (std::vector<NodeId>{2, 3}));
  auto pos = c_.Propose(leader, "after-removal");
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(c_.RunUntil([&] { return c_.Committed(pos->front()); }, 200));
  // The removed node never campaigns (it knows it is out).
  c_.Run(300);
  EXPECT_NE(c_.node(1)->GetStatus().soft_state.role, Role::kCandidate);
  EXPECT_EQ(c_.violation(), "");
}

TEST_F(MembershipTest, Section4_2_RemovedFollowerCannotDisrupt) {
  Change(ConfChangeType::kRemove, 3);
  Term term = c_.node(1)->GetStatus().hard_state.term;
  c_.Run(500);
  EXPECT_EQ(c_.Leader(), 1u);
  EXPECT_EQ(c_.node(1)->GetStatus().hard_state.term, term);
  EXPECT_EQ(c_.node(1)->GetStatus().progress.count(3), 0u);
}

}  // namespace
}  // namespace shardkv::raft::testing
