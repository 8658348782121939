// Leadership transfer [§3.10].
#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"

namespace shardkv::raft::testing {
namespace {

class LeadershipTransferTest : public ::testing::Test {
 protected:
  LeadershipTransferTest() : c_(SimOptions{}) {
    c_.node(1)->Campaign();
    EXPECT_TRUE(c_.Settle());
  }
  SimCluster c_;
};

TEST_F(LeadershipTransferTest, Section3_10_TransfersToCaughtUpFollower) {
  Term term = c_.node(1)->GetStatus().hard_state.term;
  ASSERT_TRUE(c_.node(1)->TransferLeadership(2).ok());
  // TimeoutNow lets 2 skip PreVote and the others ignore their lease.
  ASSERT_TRUE(c_.Settle());
  EXPECT_EQ(c_.Leader(), 2u);
  EXPECT_EQ(c_.node(2)->GetStatus().hard_state.term, term + 1);
  EXPECT_EQ(c_.violation(), "");
}

TEST_F(LeadershipTransferTest, Section3_10_CatchesTheTargetUpFirst) {
  c_.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c_.Propose(1, "x").ok());
  ASSERT_TRUE(c_.Settle());
  c_.Heal();
  int timeout_now_at = -1;
  int appends_to_3 = 0;
  c_.set_filter([&](const Message& m) {
    if (m.to == 3 && m.type == MessageType::kAppend) ++appends_to_3;
    if (m.type == MessageType::kTimeoutNow) timeout_now_at = appends_to_3;
    return false;
  });
  ASSERT_TRUE(c_.node(1)->TransferLeadership(3).ok());
  ASSERT_TRUE(c_.Settle());
  EXPECT_GT(timeout_now_at, 0);  // only after appends brought 3 up to date
  EXPECT_EQ(c_.Leader(), 3u);
  EXPECT_EQ(c_.image(3).hash, c_.image(1).hash);
}

TEST_F(LeadershipTransferTest, Section3_10_ProposalsRefusedDuringTransfer) {
  c_.Isolate(2);
  ASSERT_TRUE(c_.Propose(1, "x").ok());
  ASSERT_TRUE(c_.Settle());
  ASSERT_TRUE(c_.node(1)->TransferLeadership(2).ok());
  EXPECT_EQ(c_.node(1)->GetStatus().lead_transferee, 2u);
  EXPECT_EQ(c_.Propose(1, "y").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(c_.node(1)
                ->ProposeConfChange({ConfChangeType::kAddLearner, 4, ""})
                .status()
                .code(),
            Code::kFailedPrecondition);
}

TEST_F(LeadershipTransferTest, Section3_10_AbortsAfterAnElectionTimeout) {
  c_.Crash(2);
  ASSERT_TRUE(c_.node(1)->TransferLeadership(2).ok());
  for (int i = 0; i < 10; ++i) {
    c_.Tick(1);
    c_.Settle();
  }
  EXPECT_EQ(c_.Leader(), 1u);
  EXPECT_EQ(c_.node(1)->GetStatus().lead_transferee, kNoNode);
  EXPECT_TRUE(c_.Propose(1, "accepted again").ok());
}

TEST_F(LeadershipTransferTest, Section3_10_RefusesNonVoterTarget) {
  EXPECT_FALSE(c_.node(1)->TransferLeadership(9).ok());
  EXPECT_FALSE(c_.node(2)->TransferLeadership(3).ok());  // not the leader
}

}  // namespace
}  // namespace shardkv::raft::testing
