// Decide(): every rule of decide.h, and the order between them.
#include "operator/decide.h"

#include <gtest/gtest.h>

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A map with `shards` (ids 1..n) owning 16 slots round-robin.
v1::SlotMap MapOf(const std::vector<ShardId>& ids) {
  v1::SlotMap map;
  map.set_epoch(7);
  map.set_slot_count(16);
  for (ShardId id : ids) map.add_shards()->set_id(id);
  for (int slot = 0; slot < 16; ++slot) {
    map.add_slot_owner(ids.empty() ? 0 : ids[slot % ids.size()]);
  }
  for (v1::Shard& s : *map.mutable_shards()) s.set_state(v1::SHARD_ACTIVE);
  return map;
}

ShardObservation Shard(ShardId id, int ready_of_three = 3) {
  ShardObservation s;
  s.id = id;
  s.in_map = true;
  s.set_exists = true;
  s.replicas = 3;
  for (int i = 0; i < 3; ++i) {
    PodObservation p;
    p.ordinal = i;
    p.name = "demo-shard-" + std::to_string(id) + "-" + std::to_string(i);
    p.exists = true;
    p.ready = i < ready_of_three;
    p.image = "shardkv:1";
    s.pods.push_back(p);
  }
  return s;
}

// A healthy cluster of `n` shards, spec.shards = n.
Observation Healthy(int n) {
  Observation o;
  o.spec.name = "demo";
  o.spec.ns = "ns";
  o.spec.shards = n;
  o.desired_image = "shardkv:1";
  std::vector<ShardId> ids;
  for (int i = 1; i <= n; ++i) {
    ids.push_back(i);
    o.shards.push_back(Shard(i));
  }
  o.map = MapOf(ids);
  return o;
}

TEST(DecideTest, HealthyClusterNeedsNothing) {
  Decision d = Decide(Healthy(2));
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_FALSE(d.StartsWorkflow());
}

TEST(DecideTest, RunningWorkflowBlocksEverything) {
  Observation o = Healthy(2);
  o.spec.shards = 5;
  o.workflow.running = true;
  o.workflow.workflow = "scale-out";
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

TEST(DecideTest, RecordedIntentResumesBeforeAnythingElse) {
  Observation o = Healthy(2);
  o.spec.shards = 1;  // would be a scale-in
  o.map.reset();      // even with the controller unreachable
  o.intent = orchestration::Intent{"scale-out", "join", {{"shards", "3"}}};
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kResume);
  EXPECT_NE(d.reason.find("join"), std::string::npos);
}

TEST(DecideTest, UnreachableControllerWaits) {
  Observation o = Healthy(2);
  o.spec.shards = 3;
  o.map.reset();
  o.map_error = "connection refused";
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.reason.find("connection refused"), std::string::npos);
}

TEST(DecideTest, EmptyMapBootstrapsShardsOneToN) {
  Observation o;
  o.spec.shards = 3;
  o.map = MapOf({});
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kBootstrap);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{1, 2, 3}));
}

TEST(DecideTest, ScaleOutAddsTheNextIds) {
  Observation o = Healthy(2);
  o.spec.shards = 4;
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kScaleOut);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{3, 4}));
}

TEST(DecideTest, ScaleOutContinuesAfterTheHighestIdNotTheCount) {
  Observation o = Healthy(0);
  o.map = MapOf({1, 4});
  o.shards = {Shard(1), Shard(4)};
  o.spec.shards = 3;
  EXPECT_EQ(Decide(o).shards, (std::vector<ShardId>{5}));
}

TEST(DecideTest, ScaleInRemovesTheHighestIds) {
  Observation o = Healthy(4);
  o.spec.shards = 2;
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kScaleIn);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{3, 4}));
}

TEST(DecideTest, ReplacesAReplicaUnreadyLongerThanReplaceAfter) {
  Observation o = Healthy(2);
  o.spec.replace_after = minutes(5);
  o.shards[1].pods[2].ready = false;
  o.shards[1].pods[2].unready_for = minutes(6);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 2u);
  EXPECT_EQ(d.ordinal, 2);
  EXPECT_NE(d.reason.find("demo-shard-2-2"), std::string::npos);
}

TEST(DecideTest, DoesNotReplaceBeforeReplaceAfter) {
  Observation o = Healthy(2);
  o.spec.replace_after = minutes(5);
  o.shards[0].pods[0].ready = false;
  o.shards[0].pods[0].unready_for = minutes(5) - milliseconds(1);
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

TEST(DecideTest, NeverReplacesWhenTheShardLostQuorum) {
  Observation o = Healthy(1);
  o.spec.replace_after = seconds(30);
  for (int i = 0; i < 2; ++i) {
    o.shards[0].pods[i].ready = false;
    o.shards[0].pods[i].unready_for = minutes(10);
  }
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.reason.find("quorum"), std::string::npos);
}

TEST(DecideTest, QuorumLostForReplaceAfterIsReportedAsBlocked) {
  Observation o = Healthy(1);
  o.spec.replace_after = seconds(30);
  for (int i = 0; i < 3; ++i) o.shards[0].pods[i].ready = false;
  o.shards[0].quorum_lost_for = seconds(10);
  EXPECT_EQ(Decide(o).action, Action::kNone);  // not yet worth a word
  o.shards[0].quorum_lost_for = seconds(31);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_TRUE(d.replacement_blocked);
  EXPECT_NE(d.reason.find("0 of 3 replicas ready"), std::string::npos)
      << d.reason;
}

TEST(DecideTest, ImageChangeUpgradesTheControllerGroupFirst) {
  Observation o = Healthy(2);
  o.controller_replicas = 3;
  o.controller_ready = 3;
  o.controller_outdated = true;
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kRollingUpgrade);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{0}));
  for (auto& shard : o.shards) {
    for (auto& pod : shard.pods) pod.image = "shardkv:0";
  }
  d = Decide(o);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{0, 1, 2}));
  EXPECT_NE(d.reason.find("the controller group and shards 1,2"),
            std::string::npos)
      << d.reason;
  o.controller_ready = 2;
  d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_FALSE(d.replacement_blocked);
}

TEST(DecideTest, QuorumLossElsewhereDoesNotBlockAHealthyShardsReplacement) {
  Observation o = Healthy(2);
  o.spec.replace_after = seconds(30);
  for (int i = 0; i < 2; ++i) {
    o.shards[0].pods[i].ready = false;
    o.shards[0].pods[i].unready_for = minutes(10);
  }
  o.shards[1].pods[1].ready = false;
  o.shards[1].pods[1].unready_for = minutes(1);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 2u);
  EXPECT_EQ(d.ordinal, 1);
}

TEST(DecideTest, ReplacesOneAtATimeTheLongestUnreadyFirst) {
  Observation o = Healthy(2);
  o.spec.replace_after = seconds(30);
  o.shards[0].pods[1].ready = false;
  o.shards[0].pods[1].unready_for = minutes(2);
  o.shards[1].pods[0].ready = false;
  o.shards[1].pods[0].unready_for = minutes(3);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 2u);
  EXPECT_EQ(d.ordinal, 0);
}

TEST(DecideTest, ReplacementComesBeforeScaling) {
  Observation o = Healthy(2);
  o.spec.shards = 3;
  o.spec.replace_after = seconds(30);
  o.shards[0].pods[1].ready = false;
  o.shards[0].pods[1].unready_for = minutes(1);
  EXPECT_EQ(Decide(o).action, Action::kReplaceReplica);
}

TEST(DecideTest, ScalingIsNotBlockedByAReplacementThatMustWait) {
  Observation o = Healthy(2);
  o.spec.shards = 3;
  o.spec.replace_after = seconds(30);
  for (int i = 0; i < 2; ++i) {
    o.shards[0].pods[i].ready = false;
    o.shards[0].pods[i].unready_for = minutes(1);
  }
  EXPECT_EQ(Decide(o).action, Action::kScaleOut);
}

TEST(DecideTest, ShardsOutsideTheMapAreNotReplaced) {
  Observation o = Healthy(2);
  o.spec.replace_after = seconds(30);
  o.shards[1].in_map = false;  // being created by a workflow
  o.shards[1].pods[0].ready = false;
  o.shards[1].pods[0].unready_for = minutes(10);
  o.map = MapOf({1});
  o.spec.shards = 1;
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

TEST(DecideTest, ImageChangeStartsARollingUpgradeOfStaleShards) {
  Observation o = Healthy(3);
  o.desired_image = "shardkv:2";
  o.shards[1].pods[0].image = "shardkv:2";
  o.shards[1].pods[1].image = "shardkv:2";
  o.shards[1].pods[2].image = "shardkv:2";
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kRollingUpgrade);
  EXPECT_EQ(d.shards, (std::vector<ShardId>{1, 3}));
}

TEST(DecideTest, RollingUpgradeWaitsForEveryReplicaReady) {
  Observation o = Healthy(2);
  o.desired_image = "shardkv:2";
  o.shards[0].pods[0].ready = false;
  o.shards[0].pods[0].unready_for = seconds(1);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.reason.find("demo-shard-1-0"), std::string::npos);
}

TEST(DecideTest, MissingPodsAreNotUpgradeCandidates) {
  Observation o = Healthy(1);
  o.desired_image = "shardkv:1";
  o.shards[0].pods[2].exists = false;
  o.shards[0].pods[2].ready = false;
  o.shards[0].pods[2].image = "";
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

TEST(DecideTest, ScalingComesBeforeUpgrade) {
  Observation o = Healthy(2);
  o.desired_image = "shardkv:2";
  o.spec.shards = 1;
  EXPECT_EQ(Decide(o).action, Action::kScaleIn);
}

TEST(ScaleInCancelTest, CancelWhenSpecGoesBackUp) {
  Observation o = Healthy(4);
  o.spec.shards = 2;
  EXPECT_FALSE(ScaleInCancelWanted(o, {3, 4}));
  o.spec.shards = 3;
  EXPECT_TRUE(ScaleInCancelWanted(o, {3, 4}));
  o.spec.shards = 4;
  EXPECT_TRUE(ScaleInCancelWanted(o, {3, 4}));
  o.spec.shards = 1;  // asks for even fewer: keep draining
  EXPECT_FALSE(ScaleInCancelWanted(o, {3, 4}));
}

TEST(ScaleInCancelTest, NeverCancelsBlind) {
  Observation o = Healthy(4);
  o.spec.shards = 4;
  o.map.reset();
  EXPECT_FALSE(ScaleInCancelWanted(o, {3, 4}));
}

TEST(ShardObservationTest, QuorumIsAMajorityOfReadyReplicas) {
  EXPECT_TRUE(Shard(1, 3).HasQuorum());
  EXPECT_TRUE(Shard(1, 2).HasQuorum());
  EXPECT_FALSE(Shard(1, 1).HasQuorum());
  EXPECT_FALSE(Shard(1, 0).HasQuorum());
  ShardObservation none;
  EXPECT_FALSE(none.HasQuorum());
}

}  // namespace
}  // namespace shardkv::op
