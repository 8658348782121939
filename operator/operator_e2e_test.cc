// The operator end to end on this machine: the real kube-apiserver, the
// operator in-process with its real Kubernetes backend (KubeInfrastructure,
// the controller over gRPC, the intent in the status), and the kubelet
// simulator running REAL shardkv-node processes for the pods it creates.
// Data goes through the routing client; every key is verified after each
// step: bootstrap of 2 shards, scale-out 2 -> 3, scale-in 3 -> 2, and an
// operator destroyed mid-workflow with a new one resuming. Faults (lost
// pods and disks, quorum loss) and upgrades: operator_e2e_faults_test.cc.
#include "operator/operator_e2e_fixture.h"

namespace shardkv::op {
namespace {

using std::chrono::seconds;

TEST_F(OperatorE2eTest, BootstrapScaleOutScaleInAndResumeWithRealNodes) {
  OperatorTestEnv env("op-e2e");
  StartSim(env);
  const Json spec = {
      {"replicasPerShard", 1}, {"controllerReplicas", 1}, {"slotCount", 64}};
  ASSERT_TRUE(env.CreateCluster("demo", 2, spec).ok());
  auto op = Start(env, "op-a");
  ASSERT_NE(op, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return Settled(env, 2); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  const auto bootstrap = std::chrono::steady_clock::now() - t0;
  std::printf("bootstrap of 2 shards: %.1f s\n",
              std::chrono::duration<double>(bootstrap).count());
  auto kv = ParseShardedKV(env.Get("demo")).value();
  auto client = Client(kv);
  ASSERT_NE(client, nullptr);
  WriteKeys(*client, 0, 300);
  VerifyKeys(*client, "after bootstrap");

  // Scale out 2 -> 3 through the spec.
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  ASSERT_TRUE(Eventually([&] { return Settled(env, 3); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  std::printf(
      "scale-out 2 -> 3: %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1)
          .count());
  VerifyKeys(*client, "after scale-out");
  for (const Json& shard : env.StatusOf("demo")["shardStatuses"]) {
    EXPECT_GT(shard.value("slots", 0), 0) << shard.dump();
  }
  WriteKeys(*client, 300, 400);

  // Scale in 3 -> 2: shard 3 drains, leaves the map, its set goes.
  const auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(env.SetShards("demo", 2).ok());
  ASSERT_TRUE(Eventually([&] { return Settled(env, 2); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  std::printf(
      "scale-in 3 -> 2: %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t2)
          .count());
  EXPECT_TRUE(Eventually([&] {
    return !env.client()
                .Get(
                    kube::ResourcePath(kStatefulSets, env.ns(), "demo-shard-3"))
                .ok();
  })) << "shard 3's StatefulSet was not deleted";
  VerifyKeys(*client, "after scale-in");
  // retainOnScaleIn (the default) kept shard 3's disk ...
  const kube::Resource claims{"", "v1", "persistentvolumeclaims", true};
  const std::string claim_path =
      kube::ResourcePath(claims, env.ns(), "data-demo-shard-3-0");
  auto retained = env.client().Get(claim_path);
  ASSERT_TRUE(retained.ok()) << retained.status().ToString();

  // An operator destroyed mid-workflow; a new one resumes the recorded step.
  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  ASSERT_TRUE(
      Eventually([&] { return !WorkflowOf(env).empty(); }, seconds(60)));
  std::this_thread::sleep_for(seconds(2));
  const std::string step_at_stop = WorkflowOf(env);
  op->Stop();
  op.reset();
  EXPECT_FALSE(step_at_stop.empty());
  auto second = Start(env, "op-b");
  ASSERT_TRUE(Eventually([&] { return Settled(env, 3); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  VerifyKeys(*client, "after a resumed scale-out");
  // ... and the new shard 3 did not start on it: a new claim, and its pod
  // started the new incarnation's id 1 on an empty disk.
  auto fresh = env.client().Get(claim_path);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_NE((*fresh)["metadata"].value("uid", ""),
            (*retained)["metadata"].value("uid", ""))
      << "shard 3 came back on the retained claim of the drained shard 3";
  second->Stop();
}

}  // namespace
}  // namespace shardkv::op
