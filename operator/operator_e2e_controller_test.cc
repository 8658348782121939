// Replacement of CONTROLLER replicas end to end: the real kube-apiserver,
// the operator's real backend and REAL shardkv-node processes run by the
// kubelet simulator (operator_e2e_fixture.h).
//  - a controller pod lost with its disk is refused by its pod script (its
//    Raft id has run before), then replaced after spec.replaceAfter under
//    a new Raft id (learner -> promoted -> old id removed) while the other
//    two serve the slot map; status.replacing and the Events name the
//    controller pod; every key is readable after, the new member serves
//    the slot map, writes go on;
//  - two of the three controller pods down: no quorum, nothing replaced,
//    the status and an Event say why; back up, the group recovers on its
//    disks with nothing replaced.
#include <set>
#include <thread>

#include "operator/operator_e2e_fixture.h"
#include "orchestration/grpc_controller_api.h"

namespace shardkv::op {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

const Json kSpec = {{"replicasPerShard", 1},
                    {"controllerReplicas", 3},
                    {"slotCount", 64},
                    {"replaceAfter", "30s"}};

// The controller group's members as its node at `address` sees them.
std::string Members(const StatusOr<v1::StatusResponse>& status) {
  if (!status.ok()) return status.status().ToString();
  std::set<uint64_t> ids;
  std::string learners;
  for (const v1::Member& m : status->members()) {
    ids.insert(m.id());
    if (m.learner()) learners += " learner " + std::to_string(m.id());
  }
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out + learners;
}

bool AnyContains(const std::vector<std::string>& messages,
                 const std::string& part) {
  for (const std::string& m : messages) {
    if (m.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST_F(OperatorE2eTest, LostControllerDiskIsReplacedUnderANewId) {
  OperatorTestEnv env("op-e2e-controller");
  StartSim(env);
  const Status created = env.CreateCluster("demo", 1, kSpec);
  ASSERT_TRUE(created.ok()) << created.ToString();
  auto op = Start(env, "op-a");
  ASSERT_NE(op, nullptr);
  ASSERT_TRUE(Eventually([&] { return Settled(env, 1); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  // Ready controller pods have run: their ids are no longer fresh.
  ASSERT_TRUE(
      Eventually([&] { return IdentityOf(env, 0).value("fresh", "x").empty(); },
                 seconds(30)))
      << IdentityOf(env, 0).dump();
  EXPECT_EQ(IdentityOf(env, 0).value("replica-1", ""), "2");
  auto kv = ParseShardedKV(env.Get("demo")).value();
  auto client = Client(kv);
  ASSERT_NE(client, nullptr);
  WriteKeys(*client, 0, 200);

  // (a) Controller pod 1 lost with its disk.
  const std::string address0 =
      addresses_.PodAddress(env.ns(), "demo-controller-0");
  const auto t = Clock::now();
  ASSERT_TRUE(sim_->LosePodWithPvc("demo-controller-1").ok());
  EXPECT_TRUE(Eventually(
      [&] {
        return sim_->PodLog("demo-controller-1")
                   .find("Raft id 2 has run before (the disk was lost)") !=
               std::string::npos;
      },
      seconds(60)))
      << sim_->PodLog("demo-controller-1");
  VerifyKeys(*client, "with a controller disk lost");  // 2 of 3 serve
  WriteKeys(*client, 200, 250);

  std::string group_seen, pod_seen;
  double replacing_at = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        const Json replacing =
            env.StatusOf("demo").value("replacing", Json::object());
        if (!replacing.value("pod", "").empty() && replacing_at < 0) {
          replacing_at = SecondsSince(t);
          group_seen = replacing.value("group", "");
          pod_seen = replacing.value("pod", "");
        }
        const Json record = IdentityOf(env, 0);
        return record.value("replica-1", "") == "4" &&
               record.value("fresh", "x").empty() &&
               Members(NodeStatus(address0)) == "1 3 4" && Settled(env, 1);
      },
      seconds(240)))
      << env.StatusOf("demo").dump(1) << "\n"
      << IdentityOf(env, 0).dump() << "\n"
      << Members(NodeStatus(address0)) << "\n"
      << sim_->PodLog("demo-controller-1");
  std::printf(
      "controller disk lost -> replacement began after %.1f s, done after "
      "%.1f s (replaceAfter 30 s)\n",
      replacing_at, SecondsSince(t));
  EXPECT_GT(replacing_at, 25.0);
  EXPECT_EQ(group_seen, "controller");
  EXPECT_EQ(pod_seen, "demo-controller-1");
  EXPECT_TRUE(AnyContains(EventMessages(env, "WorkflowStarted"),
                          "controller pod demo-controller-1"));
  EXPECT_TRUE(EventMessages(env, "WorkflowFailed").empty());
  EXPECT_EQ(env.StatusOf("demo")["controller"].value("readyReplicas", 0), 3);
  // The new member serves the map like the others.
  EXPECT_EQ(
      Members(NodeStatus(addresses_.PodAddress(env.ns(), "demo-controller-1"))),
      "1 3 4");
  VerifyKeys(*client, "after the controller replacement");

  // The slot map is served by the new member too, and writes go on.
  {
    orchestration::GrpcControllerApi from_new_member(
        {addresses_.PodAddress(env.ns(), "demo-controller-1")});
    auto map = from_new_member.GetMap();
    ASSERT_TRUE(map.ok()) << map.status().ToString();
    EXPECT_EQ(map->shards_size(), 1);
    EXPECT_EQ(map->slot_count(), 64u);
  }
  WriteKeys(*client, 250, 300);
  VerifyKeys(*client, "after writes on the new controller group");

  // (b) Two of three controller pods down: no quorum, no replacement.
  const auto down = Clock::now();
  ASSERT_TRUE(sim_->HoldDown("demo-controller-0").ok());
  ASSERT_TRUE(sim_->HoldDown("demo-controller-2").ok());
  EXPECT_TRUE(Eventually(
      [&] {
        const Json c = ConditionOf(env, "Progressing");
        return c.value("reason", "") == "Waiting" &&
               c.value("message", "")
                       .find("the controller group has lost its quorum") !=
                   std::string::npos;
      },
      seconds(120)))
      << env.StatusOf("demo").dump(1);
  std::printf("controller quorum loss reported after %.1f s\n",
              SecondsSince(down));
  std::this_thread::sleep_for(seconds(50) - (Clock::now() - down));
  EXPECT_TRUE(AnyContains(EventMessages(env, "ReplacementBlocked"),
                          "the controller group has lost its quorum"));
  // (The slot map may still be read from the remaining replica: Available
  // follows the shards; Degraded says the controller group is short.)
  EXPECT_EQ(ConditionOf(env, "Degraded").value("reason", ""),
            "ControllerReplicasNotReady");
  const Json record = IdentityOf(env, 0);
  EXPECT_EQ(record.value("replica-0", ""), "1");
  EXPECT_EQ(record.value("replica-2", ""), "3");
  sim_->Release("demo-controller-0");
  sim_->Release("demo-controller-2");
  ASSERT_TRUE(Eventually([&] { return Settled(env, 1); }, seconds(180)))
      << env.StatusOf("demo").dump(1);
  EXPECT_EQ(IdentityOf(env, 0), record);
  EXPECT_EQ(EventMessages(env, "WorkflowStarted").size(), 2u)
      << "bootstrap and the replacement only";
  VerifyKeys(*client, "after the controller quorum came back");
  op->Stop();
}

}  // namespace
}  // namespace shardkv::op
