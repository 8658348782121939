// ComputeStatus(): fields, conditions, phases and lastTransitionTime.
#include "operator/cluster_status.h"

#include <gtest/gtest.h>

namespace shardkv::op {
namespace {

using std::chrono::minutes;
using std::chrono::system_clock;

v1::SlotMap MapOf(const std::vector<ShardId>& ids) {
  v1::SlotMap map;
  map.set_epoch(12);
  map.set_slot_count(8);
  for (ShardId id : ids) {
    v1::Shard* s = map.add_shards();
    s->set_id(id);
    s->set_state(v1::SHARD_ACTIVE);
  }
  for (int slot = 0; slot < 8; ++slot) {
    map.add_slot_owner(ids.empty() ? 0 : ids[slot % ids.size()]);
  }
  return map;
}

ShardObservation Shard(ShardId id, uint32_t slots) {
  ShardObservation s;
  s.id = id;
  s.in_map = true;
  s.set_exists = true;
  s.replicas = 3;
  s.slots = slots;
  s.leader_pod = "demo-shard-" + std::to_string(id) + "-0";
  for (int i = 0; i < 3; ++i) {
    PodObservation p;
    p.ordinal = i;
    p.name = "demo-shard-" + std::to_string(id) + "-" + std::to_string(i);
    p.exists = p.ready = true;
    s.pods.push_back(p);
  }
  return s;
}

Observation Healthy() {
  Observation o;
  o.spec.name = "demo";
  o.spec.ns = "ns";
  o.spec.generation = 4;
  o.now = system_clock::from_time_t(1'700'000'000);
  o.map = MapOf({1, 2});
  o.shards = {Shard(1, 4), Shard(2, 4)};
  o.controller_replicas = o.controller_ready = 3;
  o.controller_leader = "demo-controller-1";
  return o;
}

std::string CondStatus(const Json& status, const std::string& type) {
  const Json* c = FindCondition(status, type);
  return c == nullptr ? "absent" : (*c)["status"].get<std::string>();
}

std::string CondReason(const Json& status, const std::string& type) {
  const Json* c = FindCondition(status, type);
  return c == nullptr ? "absent" : (*c)["reason"].get<std::string>();
}

TEST(ClusterStatusTest, HealthyClusterIsRunningAndAvailable) {
  Json s = ComputeStatus(Healthy(), Decision{}, Json());
  EXPECT_EQ(s["observedGeneration"], 4);
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["shards"], 2);
  EXPECT_EQ(s["readyShards"], 2);
  EXPECT_EQ(s["selector"], "shardkv.io/cluster=demo");
  EXPECT_EQ(s["epoch"], 12);
  EXPECT_EQ(CondStatus(s, "Available"), "True");
  EXPECT_EQ(CondStatus(s, "Progressing"), "False");
  EXPECT_EQ(CondStatus(s, "Degraded"), "False");
  EXPECT_EQ(CondStatus(s, "Migrating"), "False");
  EXPECT_EQ(CondStatus(s, "ReplacingReplica"), "False");
  EXPECT_EQ(s["controller"]["leader"], "demo-controller-1");
  ASSERT_EQ(s["shardStatuses"].size(), 2u);
  EXPECT_EQ(s["shardStatuses"][1]["id"], 2);
  EXPECT_EQ(s["shardStatuses"][1]["slots"], 4);
  EXPECT_EQ(s["shardStatuses"][1]["readyReplicas"], 3);
  EXPECT_EQ(s["shardStatuses"][1]["leader"], "demo-shard-2-0");
  EXPECT_EQ(s["shardStatuses"][1]["state"], "Active");
  EXPECT_FALSE(s.contains("migration"));
  EXPECT_FALSE(s.contains("replacing"));
  EXPECT_FALSE(s.contains("workflow"));  // the workflow's field manager's
  for (const Json& c : s["conditions"]) {
    EXPECT_EQ(c["lastTransitionTime"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(c["observedGeneration"], 4);
    EXPECT_FALSE(c["reason"].get<std::string>().empty());
  }
}

TEST(ClusterStatusTest, TransitionTimeChangesOnlyWithTheStatus) {
  Observation o = Healthy();
  Json first = ComputeStatus(o, Decision{}, Json());
  o.now += minutes(10);
  o.shards[0].pods[2].ready = false;
  Json second = ComputeStatus(o, Decision{}, first);
  EXPECT_EQ((*FindCondition(second, "Available"))["lastTransitionTime"],
            "2023-11-14T22:13:20Z");  // still True
  EXPECT_EQ((*FindCondition(second, "Degraded"))["lastTransitionTime"],
            "2023-11-14T22:23:20Z");  // False -> True
  EXPECT_EQ(CondStatus(second, "Degraded"), "True");
  EXPECT_EQ(CondReason(second, "Degraded"), "ReplicasNotReady");
  EXPECT_NE(
      (*FindCondition(second, "Degraded"))["message"].get<std::string>().find(
          "demo-shard-1-2"),
      std::string::npos);
  EXPECT_EQ(second["phase"], "Degraded");
  EXPECT_EQ(second["readyShards"], 1);
}

TEST(ClusterStatusTest, QuorumLossMakesTheClusterUnavailable) {
  Observation o = Healthy();
  o.shards[1].pods[0].ready = o.shards[1].pods[1].ready = false;
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(CondStatus(s, "Available"), "False");
  EXPECT_EQ(CondReason(s, "Available"), "ShardWithoutQuorum");
}

TEST(ClusterStatusTest, UnreachableControllerKeepsTheLastEpoch) {
  Observation o = Healthy();
  Json first = ComputeStatus(o, Decision{}, Json());
  o.map.reset();
  o.map_error = "deadline exceeded";
  Json s = ComputeStatus(o, Decision{}, first);
  EXPECT_EQ(s["epoch"], 12);
  EXPECT_EQ(CondReason(s, "Available"), "ControllerUnavailable");
  EXPECT_EQ(CondStatus(s, "Degraded"), "True");
  EXPECT_EQ(s["phase"], "Degraded");
}

TEST(ClusterStatusTest, NewClusterIsCreatingUntilBootstrapped) {
  Observation o = Healthy();
  o.map = MapOf({});
  o.shards.clear();
  Decision d;
  d.action = Action::kBootstrap;
  d.reason = "new cluster";
  Json s = ComputeStatus(o, d, Json());
  EXPECT_EQ(s["phase"], "Creating");
  EXPECT_EQ(CondReason(s, "Available"), "Bootstrapping");
  EXPECT_EQ(CondStatus(s, "Progressing"), "True");
  EXPECT_EQ(CondReason(s, "Progressing"), "Bootstrap");
  // The bootstrap scale-out runs: still Creating, not Scaling.
  o.workflow.running = true;
  o.workflow.workflow = "scale-out";
  o.workflow.progress.step = "wait-ready";
  s = ComputeStatus(o, Decision{}, s);
  EXPECT_EQ(s["phase"], "Creating");
  // Controller not up yet at all: Creating too.
  o.workflow = {};
  o.map.reset();
  EXPECT_EQ(ComputeStatus(o, Decision{}, Json())["phase"], "Creating");
}

TEST(ClusterStatusTest, ScalingShowsMigrationProgress) {
  Observation o = Healthy();
  Json before = ComputeStatus(o, Decision{}, Json());
  o.map->add_migrations();
  o.map->add_migrations();
  o.map->set_rebalancing(true);
  o.workflow.running = true;
  o.workflow.workflow = "scale-out";
  o.workflow.progress.step = "wait-balanced";
  o.workflow.progress.slots_total = 6;
  o.workflow.progress.slots_moved = 3;
  Json s = ComputeStatus(o, Decision{}, before);
  EXPECT_EQ(s["phase"], "Scaling");
  EXPECT_EQ(CondStatus(s, "Migrating"), "True");
  EXPECT_EQ(CondReason(s, "Progressing"), "ScaleOut");
  EXPECT_EQ(s["migration"]["slotsToMove"], 6);
  EXPECT_EQ(s["migration"]["slotsMoved"], 3);
  EXPECT_EQ(s["migration"]["slotsInFlight"], 2);
  const std::string started = s["migration"]["startedAt"];
  o.now += minutes(1);
  EXPECT_EQ(ComputeStatus(o, Decision{}, s)["migration"]["startedAt"], started);
}

TEST(ClusterStatusTest, DrainingShardAndRecordedScaleIn) {
  Observation o = Healthy();
  o.shards[1].draining = true;
  o.map->mutable_shards(1)->set_state(v1::SHARD_DRAINING);
  o.intent = orchestration::Intent{"scale-in", "wait-drained", {}};
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(s["phase"], "Scaling");
  EXPECT_EQ(s["shardStatuses"][1]["state"], "Draining");
  EXPECT_EQ(CondReason(s, "Progressing"), "ScaleIn");
}

TEST(ClusterStatusTest, ReplacementIsReported) {
  Observation o = Healthy();
  o.shards[0].pods[1].ready = false;
  o.workflow.running = true;
  o.workflow.workflow = "replace-replica";
  o.workflow.replacing_shard = 1;
  o.workflow.replacing_pod = "demo-shard-1-1";
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(CondStatus(s, "ReplacingReplica"), "True");
  EXPECT_EQ(s["replacing"]["shard"], 1);
  EXPECT_EQ(s["replacing"]["pod"], "demo-shard-1-1");
  EXPECT_EQ(s["phase"], "Degraded");
}

TEST(ClusterStatusTest, FailedWorkflowIsFailedPhaseUntilTheNextRuns) {
  Observation o = Healthy();
  o.workflow.last_workflow = "scale-out";
  o.workflow.last_error = "shard 3 not ready";
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(CondReason(s, "Degraded"), "WorkflowFailed");
  o.workflow.running = true;
  o.workflow.workflow = "scale-out";
  EXPECT_EQ(ComputeStatus(o, Decision{}, s)["phase"], "Scaling");
}

TEST(ClusterStatusTest, WaitingDecisionIsReportedInProgressing) {
  Observation o = Healthy();
  Decision d;
  d.action = Action::kWait;
  d.reason = "shard 1 has lost its quorum";
  Json s = ComputeStatus(o, d, Json());
  EXPECT_EQ(CondStatus(s, "Progressing"), "False");
  EXPECT_EQ(CondReason(s, "Progressing"), "Waiting");
}

TEST(ClusterStatusTest, ControllerReplicasNotReadyIsDegraded) {
  Observation o = Healthy();
  o.controller_ready = 2;
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(CondReason(s, "Degraded"), "ControllerReplicasNotReady");
}

TEST(ClusterStatusTest, UnreadyReplicasAreRecordedWithASteadySince) {
  Observation o = Healthy();
  EXPECT_FALSE(ComputeStatus(o, Decision{}, Json()).contains("unready"));
  o.shards[0].pods[2].ready = false;
  o.shards[0].pods[2].unready_for = std::chrono::seconds(90);
  Json s = ComputeStatus(o, Decision{}, Json());
  ASSERT_EQ(s["unready"].size(), 1u);
  EXPECT_EQ(s["unready"][0]["pod"], o.shards[0].pods[2].name);
  EXPECT_EQ(s["unready"][0]["uid"], "");  // no Pod object in this test
  EXPECT_EQ(s["unready"][0]["since"], "2023-11-14T22:11:50Z");
  // A reconcile 1.5 s later computes a since 0.2 s off: the old one stays
  // (no status write for nothing).
  o.now += std::chrono::milliseconds(1500);
  o.shards[0].pods[2].unready_for = std::chrono::milliseconds(91'300);
  Json again = ComputeStatus(o, Decision{}, s);
  EXPECT_EQ(again["unready"], s["unready"]);
  // A clock that started again (quorum came back) is a new since.
  o.shards[0].pods[2].unready_for = std::chrono::seconds(5);
  again = ComputeStatus(o, Decision{}, s);
  EXPECT_NE(again["unready"][0]["since"], s["unready"][0]["since"]);
  // A shard without a quorum: its clocks do not run, nothing is kept.
  o.shards[0].pods[1].ready = false;
  EXPECT_FALSE(ComputeStatus(o, Decision{}, s).contains("unready"));
}

TEST(ClusterStatusTest, ControllerReplacementNamesTheControllerPod) {
  Observation o = Healthy();
  o.workflow.running = true;
  o.workflow.workflow = "replace-replica";
  o.workflow.replacing_shard = 0;
  o.workflow.replacing_pod = "demo-controller-2";
  Json s = ComputeStatus(o, Decision{}, Json());
  EXPECT_EQ(CondStatus(s, "ReplacingReplica"), "True");
  EXPECT_NE(FindCondition(s, "ReplacingReplica")
                ->value("message", "")
                .find("controller pod demo-controller-2 is being replaced"),
            std::string::npos)
      << s.dump(1);
  EXPECT_EQ(s["replacing"]["group"], "controller");
  EXPECT_EQ(s["replacing"]["pod"], "demo-controller-2");
  EXPECT_FALSE(s["replacing"].contains("shard"));
}

TEST(ClusterStatusTest, UnreadyControllerReplicasAreRecorded) {
  Observation o = Healthy();
  o.controller.replicas = 3;
  for (int i = 0; i < 3; ++i) {
    PodObservation p;
    p.ordinal = i;
    p.name = "demo-controller-" + std::to_string(i);
    p.uid = "u" + std::to_string(i);
    p.exists = p.ready = i != 1;
    o.controller.pods.push_back(p);
  }
  o.controller.pods[1].unready_for = std::chrono::seconds(90);
  Json s = ComputeStatus(o, Decision{}, Json());
  ASSERT_EQ(s["unready"].size(), 1u) << s.dump(1);
  EXPECT_EQ(s["unready"][0]["pod"], "demo-controller-1");
  EXPECT_EQ(s["unready"][0]["uid"], "u1");
  // Without a quorum the group's clocks do not run: nothing is kept.
  o.controller.pods[2].ready = false;
  EXPECT_FALSE(ComputeStatus(o, Decision{}, s).contains("unready"));
}

}  // namespace
}  // namespace shardkv::op
