// The operator's control loop against a real kube-apiserver + etcd
// (e2e/apiserver.sh), with the data plane played by the in-memory
// FakeCluster (fake_cluster_backend.h): the objects it applies, the status
// it writes, scaling through spec edits, two operators with one leader, a
// relist after 410 Gone, and a workflow resumed by a new operator after the
// first stopped mid-way. The data plane with real nodes is
// operator_e2e_test.cc.
#include <gtest/gtest.h>

#include <thread>

#include "operator/fake_cluster_backend.h"
#include "operator/kube/api_server_env.h"
#include "operator/operator_test_util.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(OperatorTest, AppliesControlObjectsAndWritesStatus) {
  OperatorTestEnv env("op-objects");
  ASSERT_TRUE(env.CreateCluster("demo", 2).ok());
  auto op = env.StartOperator("op-a");
  ASSERT_NE(op, nullptr);

  // No kubelet here: the pods never exist, so the cluster is Degraded.
  ASSERT_TRUE(Eventually([&] {
    Json s = env.StatusOf("demo");
    return s.value("phase", "") == "Degraded" && s.value("shards", 0) == 2;
  })) << env.StatusOf("demo").dump(1);
  const Json object = env.Get("demo");
  const std::string uid = object["metadata"]["uid"];
  const Json status = object["status"];
  EXPECT_EQ(status["observedGeneration"], object["metadata"]["generation"]);
  EXPECT_EQ(status["readyShards"], 0);  // no pods: nothing runs them here
  EXPECT_EQ(status["selector"], "shardkv.io/cluster=demo");
  EXPECT_GT(status["epoch"].get<int64_t>(), 0);
  EXPECT_EQ(ConditionStatus(status, "Available"), "False");  // no quorum
  EXPECT_EQ(ConditionStatus(status, "Degraded"), "True");
  EXPECT_EQ(ConditionStatus(status, "Progressing"), "False");
  EXPECT_FALSE(status.contains("workflow"));

  for (const auto& [resource, name] :
       std::vector<std::pair<kube::Resource, std::string>>{
           {kStatefulSets, "demo-controller"},
           {kServices, "demo-controller"},
           {kServices, "demo-client"}}) {
    auto got = env.client().Get(kube::ResourcePath(resource, env.ns(), name));
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
    const Json& owners = (*got)["metadata"]["ownerReferences"];
    ASSERT_EQ(owners.size(), 1u) << name;
    EXPECT_EQ(owners[0]["uid"], uid) << name;
    EXPECT_EQ(owners[0]["kind"], "ShardedKV");
    EXPECT_TRUE(owners[0]["controller"].get<bool>());
    EXPECT_EQ((*got)["metadata"]["managedFields"][0]["manager"],
              "shardkv-operator");
  }
  EXPECT_TRUE(Eventually([&] {
    return env.HasEvent("demo", "WorkflowStarted") &&
           env.HasEvent("demo", "WorkflowSucceeded");
  }));
  // The bootstrap created shards 1 and 2 in the (fake) slot map.
  EXPECT_EQ(env.MapShardIds("demo"), (std::vector<ShardId>{1, 2}));
  op->Stop();
}

TEST(OperatorTest, ScalesOutAndInThroughSpecEdits) {
  OperatorTestEnv env("op-scale");
  ASSERT_TRUE(env.CreateCluster("demo", 2).ok());
  auto op = env.StartOperator("op-a");
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 2; }));

  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  ASSERT_TRUE(Eventually([&] {
    Json s = env.StatusOf("demo");
    return s.value("shards", 0) == 3 &&
           s["observedGeneration"] == env.Get("demo")["metadata"]["generation"];
  })) << env.StatusOf("demo").dump(1);
  EXPECT_EQ(env.MapShardIds("demo"), (std::vector<ShardId>{1, 2, 3}));

  ASSERT_TRUE(env.SetShards("demo", 1).ok());
  ASSERT_TRUE(Eventually([&] {
    return env.StatusOf("demo").value("shards", 0) == 1;
  })) << env.StatusOf("demo").dump(1);
  EXPECT_EQ(env.MapShardIds("demo"), (std::vector<ShardId>{1}));
  // The scale subresource reads what the status says.
  auto scale = env.client().Get(
      kube::ResourcePath(kShardedKVs, env.ns(), "demo", "scale"));
  ASSERT_TRUE(scale.ok()) << scale.status().ToString();
  EXPECT_EQ((*scale)["status"]["replicas"], 1);
  EXPECT_EQ((*scale)["status"]["selector"], "shardkv.io/cluster=demo");
  op->Stop();
}

TEST(OperatorTest, ScaleInIsCancelledWhenSpecGoesBackUp) {
  OperatorTestEnv env("op-cancel");
  ASSERT_TRUE(env.CreateCluster("demo", 3).ok());
  auto op = env.StartOperator("op-a");
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 3; }));
  // Hold the workflow's map reads: the scale-in waits while draining.
  env.backend("demo")->SetMapGate(true);
  ASSERT_TRUE(env.SetShards("demo", 2).ok());
  ASSERT_TRUE(Eventually([&] {
    auto intent = env.backend("demo")->recorded();
    return intent.has_value() && intent->workflow == "scale-in";
  }));
  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  // Let the reconciler see the new spec and set the cancel flag.
  ASSERT_TRUE(Eventually([&] {
    return env.Get("demo")["status"].value("observedGeneration", 0) ==
           env.Get("demo")["metadata"]["generation"].get<int64_t>();
  }));
  env.backend("demo")->SetMapGate(false);
  EXPECT_TRUE(
      Eventually([&] { return env.HasEvent("demo", "ScaleInCancelled"); }));
  EXPECT_TRUE(Eventually([&] {
    return !env.backend("demo")->recorded().has_value() &&
           env.StatusOf("demo").value("shards", 0) == 3;
  }));
  EXPECT_EQ(env.MapShardIds("demo"), (std::vector<ShardId>{1, 2, 3}));
  op->Stop();
}

TEST(OperatorTest, OnlyTheLeaseHolderActsAndTheOtherTakesOver) {
  OperatorTestEnv env("op-leader");
  ASSERT_TRUE(env.CreateCluster("demo", 1).ok());
  auto a = env.StartOperator("op-a", /*leader_elect=*/true);
  ASSERT_TRUE(Eventually([&] { return a->leading(); }, seconds(20)));
  auto b = env.StartOperator("op-b", /*leader_elect=*/true);
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 1; }));

  ASSERT_TRUE(env.SetShards("demo", 2).ok());
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 2; }));
  std::this_thread::sleep_for(seconds(2));
  EXPECT_TRUE(a->leading());
  EXPECT_FALSE(b->leading());
  EXPECT_GT(a->reconciles(), 0);
  EXPECT_EQ(b->reconciles(), 0) << "the standby reconciled";

  a->Stop();  // releases the Lease
  ASSERT_TRUE(Eventually([&] { return b->leading(); }, seconds(20)));
  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  EXPECT_TRUE(Eventually([&] {
    return env.MapShardIds("demo").size() == 3 &&
           env.StatusOf("demo").value("shards", 0) == 3;
  }));
  EXPECT_GT(b->reconciles(), 0);
  b->Stop();
}

TEST(OperatorTest, RecoversAfterRelistOn410) {
  OperatorTestEnv env("op-relist");
  ASSERT_TRUE(env.CreateCluster("demo", 1).ok());
  auto op = env.StartOperator("op-a");
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 1; }));
  const int lists = op->shardedkv_lists();
  // Let etcd compact past the version the next watch will ask for.
  std::this_thread::sleep_for(seconds(6));
  op->SetShardedKVResourceVersionForTest("1");
  ASSERT_TRUE(
      Eventually([&] { return op->shardedkv_lists() > lists; }, seconds(20)))
      << "no relist after 410 Gone";
  ASSERT_TRUE(env.SetShards("demo", 2).ok());
  EXPECT_TRUE(Eventually([&] {
    return env.MapShardIds("demo").size() == 2 &&
           env.StatusOf("demo").value("shards", 0) == 2;
  }));
  op->Stop();
}

TEST(OperatorTest, NewOperatorResumesAWorkflowTheFirstLeftMidway) {
  OperatorTestEnv env("op-resume");
  ASSERT_TRUE(env.CreateCluster("demo", 1).ok());
  auto first = env.StartOperator("op-a");
  ASSERT_TRUE(Eventually([&] { return env.MapShardIds("demo").size() == 1; }));
  env.backend("demo")->SetMapGate(true);
  ASSERT_TRUE(env.SetShards("demo", 3).ok());
  ASSERT_TRUE(Eventually([&] {
    auto intent = env.backend("demo")->recorded();
    return intent.has_value() && intent->workflow == "scale-out";
  }));
  // Stop it while its workflow waits; the gate opens once Stop is under way.
  std::thread opener([&] {
    std::this_thread::sleep_for(milliseconds(300));
    env.backend("demo")->SetMapGate(false);
  });
  first->Stop();
  opener.join();
  auto recorded = env.backend("demo")->recorded();
  ASSERT_TRUE(recorded.has_value()) << "the intent was not kept";
  EXPECT_EQ(recorded->workflow, "scale-out");
  EXPECT_TRUE(env.HasEvent("demo", "WorkflowPaused"));
  first.reset();

  auto second = env.StartOperator("op-b");
  EXPECT_TRUE(Eventually([&] {
    return env.MapShardIds("demo").size() == 3 &&
           !env.backend("demo")->recorded().has_value();
  }));
  EXPECT_TRUE(
      Eventually([&] { return env.StatusOf("demo").value("shards", 0) == 3; }));
  second->Stop();
}

TEST(OperatorTest, DeletedClusterIsForgotten) {
  OperatorTestEnv env("op-delete");
  ASSERT_TRUE(env.CreateCluster("demo", 1).ok());
  auto op = env.StartOperator("op-a");
  ASSERT_TRUE(
      Eventually([&] { return env.StatusOf("demo").value("shards", 0) == 1; }));
  ASSERT_TRUE(env.client()
                  .Delete(kube::ResourcePath(kShardedKVs, env.ns(), "demo"))
                  .ok());
  // Created again under the same name: a new uid, a new cluster.
  ASSERT_TRUE(Eventually([&] {
    return !env.client()
                .Get(kube::ResourcePath(kShardedKVs, env.ns(), "demo"))
                .ok();
  }));
  ASSERT_TRUE(env.CreateCluster("demo", 2).ok());
  EXPECT_TRUE(
      Eventually([&] { return env.StatusOf("demo").value("shards", 0) == 2; }));
  EXPECT_EQ(env.backends_made("demo"), 2);
  op->Stop();
}

}  // namespace
}  // namespace shardkv::op
