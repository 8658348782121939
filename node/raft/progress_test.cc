// Flow-control state machine of a follower's progress [§10.2] and quorum
// arithmetic over voters (learners excluded) [§4.2.1].
#include "node/raft/progress.h"

#include <gtest/gtest.h>

#include "node/raft/testing/sim_cluster.h"

namespace shardkv::raft {
namespace {

TEST(InflightsTest, WindowFillsAndFreesInOrder) {
  Inflights in(3);
  in.Add(5);
  in.Add(7);
  in.Add(9);
  EXPECT_TRUE(in.Full());
  in.FreeLE(7);
  EXPECT_EQ(in.Count(), 1u);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 0u);
}

TEST(ProgressTest, ProbeSendsOneAtATimeThenReplicatePipelines) {
  PeerProgress pr(2);
  pr.next = 10;
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(12, 3);
  EXPECT_TRUE(pr.IsPaused());  // one probe in flight
  EXPECT_EQ(pr.next, 10u);     // probing does not advance optimistically
  ASSERT_TRUE(pr.MaybeUpdate(12));
  pr.BecomeReplicate();
  EXPECT_EQ(pr.next, 13u);
  pr.SentEntries(15, 3);
  EXPECT_EQ(pr.next, 16u);
  pr.SentEntries(18, 3);
  EXPECT_TRUE(pr.IsPaused());        // window of 2 full
  EXPECT_FALSE(pr.MaybeUpdate(11));  // stale ack
}

TEST(ProgressTest, Section3_5_RejectionWithHintSkipsBack) {
  PeerProgress pr(4);
  pr.next = 101;
  pr.SentEntries(100, 0);
  EXPECT_FALSE(pr.MaybeDecrTo(50, 10));  // not the probe in flight
  ASSERT_TRUE(pr.MaybeDecrTo(100, 20));
  EXPECT_EQ(pr.next, 21u);
  EXPECT_FALSE(pr.IsPaused());
  // In replicate, a rejection above match falls back to match + 1.
  pr.match = 30;
  pr.BecomeReplicate();
  pr.SentEntries(40, 10);
  EXPECT_FALSE(pr.MaybeDecrTo(30, 0));  // stale: at or below match
  ASSERT_TRUE(pr.MaybeDecrTo(35, 0));
  EXPECT_EQ(pr.next, 31u);
}

TEST(ProgressTest, Section5_SnapshotPausesUntilReportedThenResumesAfterIt) {
  PeerProgress pr(4);
  pr.BecomeSnapshot(50);
  EXPECT_TRUE(pr.IsPaused());
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 51u);
}

TEST(ProgressTrackerTest, Section4_2_1_QuorumCountsVotersOnly) {
  ProgressTracker t(4);
  t.Reset(ConfState{{1, 2, 3}, {4, 5}}, 10);
  EXPECT_EQ(t.Quorum(), 2u);
  t.Get(4)->match = 10;
  t.Get(5)->match = 10;
  t.Get(1)->match = 10;
  EXPECT_EQ(t.QuorumMatch(), 0u);  // learners do not help
  t.Get(2)->match = 7;
  EXPECT_EQ(t.QuorumMatch(), 7u);
  EXPECT_FALSE(t.HasQuorum({1, 4, 5}));
  EXPECT_TRUE(t.HasQuorum({1, 3}));
  t.RecordVote(1, true);
  t.RecordVote(4, true);
  t.RecordVote(5, true);
  EXPECT_EQ(t.TallyVotes(), VoteResult::kPending);
  t.RecordVote(2, false);
  t.RecordVote(3, false);
  EXPECT_EQ(t.TallyVotes(), VoteResult::kLost);
  t.Promote(4, 10);
  EXPECT_EQ(t.VoterCount(), 4u);
  EXPECT_EQ(t.Quorum(), 3u);
}

TEST(ProgressTest, ReportUnreachableFallsBackToProbing) {
  testing::SimCluster c(testing::SimOptions{});
  c.node(1)->Campaign();
  ASSERT_TRUE(c.Settle());
  ASSERT_EQ(c.node(1)->GetStatus().progress.at(2).state,
            Progress::State::kReplicate);
  c.node(1)->ReportUnreachable(2);
  EXPECT_EQ(c.node(1)->GetStatus().progress.at(2).state,
            Progress::State::kProbe);
}

}  // namespace
}  // namespace shardkv::raft
