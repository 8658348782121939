// Decide() for the controller group (shard 0 to the workflows): a
// controller replica is replaced like a shard replica, after replaceAfter,
// one at a time, never while the group lacks a quorum, and never in a
// group of one (refused with a reason).
#include <gtest/gtest.h>

#include "operator/decide.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

ShardObservation Group(const std::string& set, ShardId id, int replicas,
                       int ready) {
  ShardObservation s;
  s.id = id;
  s.in_map = id != 0;
  s.set_exists = true;
  s.replicas = replicas;
  for (int i = 0; i < replicas; ++i) {
    PodObservation p;
    p.ordinal = i;
    p.name = set + "-" + std::to_string(i);
    p.exists = true;
    p.ready = i < ready;
    p.image = "shardkv:1";
    s.pods.push_back(p);
  }
  return s;
}

// Two healthy shards and a controller group of `controllers`, all ready;
// replaceAfter 30 s.
Observation Healthy(int controllers) {
  Observation o;
  o.spec.name = "demo";
  o.spec.ns = "ns";
  o.spec.shards = 2;
  o.spec.replace_after = seconds(30);
  o.desired_image = "shardkv:1";
  v1::SlotMap map;
  map.set_slot_count(4);
  for (ShardId id : {1u, 2u}) {
    v1::Shard* s = map.add_shards();
    s->set_id(id);
    s->set_state(v1::SHARD_ACTIVE);
    o.shards.push_back(Group("demo-shard-" + std::to_string(id), id, 3, 3));
  }
  for (int slot = 0; slot < 4; ++slot) map.add_slot_owner(1 + slot % 2);
  o.map = map;
  o.controller_replicas = controllers;
  o.controller_ready = controllers;
  o.controller = Group("demo-controller", 0, controllers, controllers);
  return o;
}

void Unready(ShardObservation& group, int ordinal,
             std::chrono::milliseconds for_how_long) {
  group.pods[ordinal].ready = false;
  group.pods[ordinal].unready_for = for_how_long;
}

TEST(DecideControllerTest, ReplacesAControllerReplicaAfterReplaceAfter) {
  Observation o = Healthy(3);
  Unready(o.controller, 1, seconds(29));
  EXPECT_EQ(Decide(o).action, Action::kNone);
  Unready(o.controller, 1, seconds(31));
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 0u);
  EXPECT_EQ(d.ordinal, 1);
  EXPECT_NE(d.reason.find("controller pod demo-controller-1"),
            std::string::npos)
      << d.reason;
}

TEST(DecideControllerTest, NeverReplacedWhileTheGroupLacksAQuorum) {
  Observation o = Healthy(3);
  // Without a quorum the pods' clocks stand still (observe.h); the
  // group's runs.
  Unready(o.controller, 0, milliseconds(0));
  Unready(o.controller, 2, milliseconds(0));
  o.controller.quorum_lost_for = seconds(10);
  o.map.reset();  // no quorum: no map either
  o.map_error = "UNAVAILABLE: no leader";
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_FALSE(d.replacement_blocked);  // not for replaceAfter yet
  o.controller.quorum_lost_for = seconds(31);
  d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_TRUE(d.replacement_blocked);
  EXPECT_NE(d.reason.find("the controller group has lost its quorum (1 of 3 "
                          "replicas ready)"),
            std::string::npos)
      << d.reason;
  EXPECT_NE(d.reason.find("no leader"), std::string::npos) << d.reason;
  // Even if the map was read (e.g. a stale answer): still no replacement.
  o.map = Healthy(3).map;
  d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_TRUE(d.replacement_blocked);
}

TEST(DecideControllerTest, ASingleControllerIsNeverReplaced) {
  Observation o = Healthy(1);
  Unready(o.controller, 0, milliseconds(0));  // no quorum: clock restarted
  o.controller.quorum_lost_for = seconds(20);
  o.map.reset();
  o.map_error = "UNAVAILABLE";
  EXPECT_FALSE(Decide(o).replacement_blocked);
  o.controller.quorum_lost_for = minutes(2);
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_TRUE(d.replacement_blocked);
  EXPECT_NE(d.reason.find("the controller group has a single replica: pod "
                          "demo-controller-0 cannot be replaced"),
            std::string::npos)
      << d.reason;
}

TEST(DecideControllerTest, OneAtATimeTheLongestUnreadyFirst) {
  Observation o = Healthy(3);
  Unready(o.controller, 2, minutes(2));
  Unready(o.shards[1], 0, minutes(3));
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 2u);  // the shard replica waited longer
  Unready(o.controller, 2, minutes(4));
  d = Decide(o);
  EXPECT_EQ(d.shard, 0u);
  EXPECT_EQ(d.ordinal, 2);
  // A running replacement (of either) holds back the other.
  o.workflow.running = true;
  o.workflow.workflow = "replace-replica";
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

TEST(DecideControllerTest, ControllerBlockedDoesNotHoldBackAShard) {
  Observation o = Healthy(1);
  Unready(o.controller, 0, minutes(0));
  o.controller.quorum_lost_for = minutes(2);
  Unready(o.shards[0], 2, minutes(1));
  // The map was read (say, just before the controller went down).
  Decision d = Decide(o);
  EXPECT_EQ(d.action, Action::kReplaceReplica);
  EXPECT_EQ(d.shard, 1u);
}

TEST(DecideControllerTest, UnobservedControllerGroupDecidesNothing) {
  Observation o = Healthy(3);
  o.controller = ShardObservation();  // replicas 0: not observed
  EXPECT_EQ(Decide(o).action, Action::kNone);
}

}  // namespace
}  // namespace shardkv::op
