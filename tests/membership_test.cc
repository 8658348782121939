// Membership changes under a recorded workload: a fourth replica joins as a
// learner, catches up, is promoted and an old follower is removed; then a
// replica is replaced by one with a wiped data dir under a new id. The new
// replicas' data is checked with stale reads.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/harness/cluster_test.h"

namespace shardkv::test {
namespace {

class MembershipTest : public ClusterTest {
 protected:
  // Adds `id` (already started with --join) as a learner, waits until its
  // applied index is within `lag` of the leader's commit, promotes it.
  void AddAndPromote(NodeId id, const std::vector<NodeId>& voters) {
    auto added = cluster_->admin().AddLearner(id, cluster_->address(id));
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    auto deadline = std::chrono::steady_clock::now() + kConvergeTimeout;
    bool caught_up = false;
    while (!caught_up && std::chrono::steady_clock::now() < deadline) {
      auto leader = cluster_->WaitForLeader(kLeaderTimeout, voters);
      ASSERT_TRUE(leader.ok()) << leader.status().ToString();
      auto ls = cluster_->NodeStatus(*leader);
      auto ns = cluster_->NodeStatus(id);
      if (ls.ok() && ns.ok()) {
        caught_up = ns->role() == v1::ROLE_LEARNER &&
                    ns->applied_index() + 50 >= ls->commit_index();
      }
      if (!caught_up) Sleep(milliseconds(100));
    }
    ASSERT_TRUE(caught_up) << "learner " << id << " did not catch up";
    auto promoted = cluster_->admin().Promote(id);
    ASSERT_TRUE(promoted.ok()) << promoted.status().ToString();
    bool is_voter = false;
    for (const auto& m : promoted->members()) {
      if (m.id() == id) is_voter = !m.learner();
    }
    EXPECT_TRUE(is_voter) << "node " << id << " not a voter after Promote";
  }

  // Removes a follower among `voters` (not the current leader), stops it
  // and returns its id.
  NodeId RemoveAFollower(std::vector<NodeId>* voters) {
    auto leader = cluster_->WaitForLeader(kLeaderTimeout, *voters);
    EXPECT_TRUE(leader.ok()) << leader.status().ToString();
    if (!leader.ok()) return 0;
    NodeId victim = 0;
    for (NodeId id : *voters) {
      if (id != *leader && id <= 3) {
        victim = id;
        break;
      }
    }
    EXPECT_NE(victim, 0u);
    auto removed = cluster_->admin().RemoveMember(victim);
    EXPECT_TRUE(removed.ok()) << removed.status().ToString();
    if (!removed.ok()) return 0;
    for (const auto& m : removed->members()) {
      EXPECT_NE(m.id(), victim) << "removed member still listed";
    }
    EXPECT_TRUE(cluster_->Stop(victim).ok());
    voters->erase(std::find(voters->begin(), voters->end(), victim));
    return victim;
  }
};

TEST_F(MembershipTest, AddAndRemoveReplicas) {
  NodeId leader = StartCluster(ClusterOptions{});
  ASSERT_NE(leader, 0u);
  WorkloadOptions w;
  w.seed = 55;
  StartWorkload(w);
  Sleep(milliseconds(1500));
  std::vector<NodeId> voters = {1, 2, 3};

  // Grow to four, then shrink back to three.
  ASSERT_TRUE(cluster_->StartJoining(4).ok());
  AddAndPromote(4, voters);
  if (HasFatalFailure()) return;
  voters.push_back(4);
  Sleep(milliseconds(1000));
  NodeId removed = RemoveAFollower(&voters);
  ASSERT_NE(removed, 0u);
  Sleep(milliseconds(1000));

  // Replace another old replica by a fresh one under a new id.
  ASSERT_TRUE(cluster_->StartJoining(5).ok());
  AddAndPromote(5, voters);
  if (HasFatalFailure()) return;
  voters.push_back(5);
  NodeId replaced = RemoveAFollower(&voters);
  ASSERT_NE(replaced, 0u);
  Sleep(milliseconds(1500));

  ASSERT_EQ(voters.size(), 3u);
  EXPECT_TRUE(std::find(voters.begin(), voters.end(), 4) != voters.end());
  EXPECT_TRUE(std::find(voters.begin(), voters.end(), 5) != voters.end());
  // The survivors report exactly the expected members.
  auto leader_now = cluster_->WaitForLeader(kLeaderTimeout, voters);
  ASSERT_TRUE(leader_now.ok()) << leader_now.status().ToString();
  auto st = cluster_->NodeStatus(*leader_now);
  ASSERT_TRUE(st.ok());
  std::vector<NodeId> members;
  for (const auto& m : st->members()) {
    EXPECT_FALSE(m.learner()) << "member " << m.id() << " is still a learner";
    members.push_back(m.id());
  }
  std::sort(members.begin(), members.end());
  std::vector<NodeId> expected = voters;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(members, expected);

  // Linearizable history, and stale reads on every remaining replica
  // (nodes 4 and 5 included) agree with each other.
  VerifyAfterFaults(voters);
}

}  // namespace
}  // namespace shardkv::test
