// The workflows' data-plane side on Kubernetes: orchestration::Orchestrator
// over KubeInfrastructure + StatusIntentStore against a real kube-apiserver,
// real shardkv-node processes run for the pods by the kubelet simulator,
// keys written and verified through the routing client.
#include <atomic>
#include <thread>

#include "operator/backend/backend_fixture.h"
#include "operator/backend/kube_objects.h"
#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;

std::string Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

TEST_F(BackendTest, ScaleOutAndInKeepsDataAndFollowsRetainOnScaleIn) {
  ASSERT_NO_FATAL_FAILURE(
      StartCluster({{"storage", {{"retainOnScaleIn", true}}}}));
  auto o = NewOrchestrator();
  Status s = o->ScaleOut({1});
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sim_->PodLog("demo-shard-1-0");
  ASSERT_NO_FATAL_FAILURE(WriteKeys("a", 200));

  s = o->ScaleOut({2});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto map = controller_->GetMap();
  ASSERT_TRUE(map.ok());
  EXPECT_GT(orchestration::SlotsOwnedBy(*map, 1), 0u);
  EXPECT_GT(orchestration::SlotsOwnedBy(*map, 2), 0u);
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
  ASSERT_NO_FATAL_FAILURE(WriteKeys("b", 100));

  // Scale-in keeps the claims (retainOnScaleIn) but nothing else.
  s = o->ScaleIn({2});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(Exists(kStatefulSets, "demo-shard-2"));
  EXPECT_FALSE(Exists(kConfigMaps, "demo-shard-2-identity"));
  EXPECT_TRUE(WaitFor([&] { return !sim_->Running("demo-shard-2-0"); },
                      milliseconds(30'000)));
  EXPECT_EQ(Sorted(ClaimNames(2)),
            "data-demo-shard-2-0 data-demo-shard-2-1 data-demo-shard-2-2 ");
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
  EXPECT_EQ(WorkflowInStatus(), "");

  // The id comes back: the retained disks of the drained shard are never
  // started under the new shard's identities (new claims, new incarnation).
  const std::string old_uid = UidOf(Get(kClaims, "data-demo-shard-2-1"));
  s = o->ScaleOut({2});
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sim_->PodLog("demo-shard-2-1");
  EXPECT_NE(UidOf(Get(kClaims, "data-demo-shard-2-1")), old_uid);
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());

  // Without retention the claims go with the shard.
  ShardedKV kv = infra_->spec();
  kv.retain_on_scale_in = false;
  infra_->UpdateSpec(kv);
  s = o->ScaleIn({2});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(
      WaitFor([&] { return ClaimNames(2).empty(); }, milliseconds(30'000)))
      << Sorted(ClaimNames(2));
  // Deleted claims stay (terminating) until their pod is gone, as the
  // pvc-protection finalizer has it; then they go.
  EXPECT_TRUE(WaitFor([&] { return !Exists(kClaims, "data-demo-shard-2-0"); },
                      milliseconds(30'000)));
  EXPECT_EQ(Sorted(ClaimNames(1)),
            "data-demo-shard-1-0 data-demo-shard-1-1 data-demo-shard-1-2 ");
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
}

TEST_F(BackendTest, ALostDiskIsRefusedThenReplacedUnderANewIdentity) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Json::object()));
  auto o = NewOrchestrator();
  Status s = o->ScaleOut({1});
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NO_FATAL_FAILURE(WriteKeys("k", 200));

  // A pod lost without its disk comes back under its identity.
  ASSERT_TRUE(sim_->LosePod("demo-shard-1-2").ok());
  s = infra_->WaitShardReady(1, milliseconds(60'000));
  ASSERT_TRUE(s.ok()) << s.ToString() << sim_->PodLog("demo-shard-1-2");
  EXPECT_EQ(infra_->ReplicaIdAt(1, 2).value(), 3u);

  // A pod lost with its disk must not start on an empty one as id 2.
  ASSERT_TRUE(sim_->LosePodWithPvc("demo-shard-1-1").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        return sim_->PodLog("demo-shard-1-1")
                   .find("Raft id 2 has run before (the disk was lost)") !=
               std::string::npos;
      },
      milliseconds(60'000)))
      << sim_->PodLog("demo-shard-1-1");
  EXPECT_FALSE(PodReady(Get(kPods, "demo-shard-1-1")));
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());  // a quorum still serves

  s = o->ReplaceReplica(1, 2);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sim_->PodLog("demo-shard-1-1");
  EXPECT_EQ(infra_->ReplicaIdAt(1, 1).value(), 4u);
  s = infra_->WaitShardReady(1, milliseconds(60'000));
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto status = admin_->LeaderStatus(1);
  ASSERT_TRUE(status.ok());
  std::vector<uint64_t> ids;
  for (const auto& m : status->members()) {
    EXPECT_FALSE(m.learner());
    ids.push_back(m.id());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 3, 4}));
  // The map lists the new identity, the record no fresh id any more.
  auto map = controller_->GetMap();
  ASSERT_TRUE(map.ok());
  const v1::Shard* shard = orchestration::FindShard(*map, 1);
  ASSERT_NE(shard, nullptr);
  EXPECT_EQ(shard->members_size(), 3);
  EXPECT_EQ(Get(kConfigMaps, "demo-shard-1-identity")["data"]["fresh"], "");
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
  ASSERT_NO_FATAL_FAILURE(WriteKeys("after", 50));
}

TEST_F(BackendTest, RollingUpgradeRestartsEachPodWhileWritesContinue) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Json::object()));
  auto o = NewOrchestrator();
  Status s = o->ScaleOut({1});
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NO_FATAL_FAILURE(WriteKeys("before", 50));
  std::vector<std::string> uids;
  for (int i = 0; i < 3; ++i) {
    uids.push_back(UidOf(Get(kPods, "demo-shard-1-" + std::to_string(i))));
  }

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::map<std::string, std::string> acked;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string key = "during-" + std::to_string(i);
      if (client_->Set(key, key).ok()) {
        ++ok;
        std::lock_guard lock(mu);
        acked[key] = key;
      } else {
        ++failed;
      }
    }
  });
  ShardedKV kv = infra_->spec();
  kv.image = "shardkv:v2";
  infra_->UpdateSpec(kv);
  const int before = ok.load();
  s = o->RollingUpgrade({1});
  const int during = ok.load() - before;
  stop = true;
  writer.join();
  ASSERT_TRUE(s.ok()) << s.ToString();

  for (int i = 0; i < 3; ++i) {
    Json pod = Get(kPods, "demo-shard-1-" + std::to_string(i));
    EXPECT_NE(UidOf(pod), uids[i]) << i << " was not restarted";
    EXPECT_EQ(pod["spec"]["containers"][0]["image"], "shardkv:v2");
    EXPECT_TRUE(PodReady(pod));
  }
  Json set = Get(kStatefulSets, "demo-shard-1");
  EXPECT_EQ(set["status"]["currentRevision"], set["status"]["updateRevision"]);
  EXPECT_GT(during, 0) << "no write succeeded during the upgrade";
  std::cout << "rolling upgrade: " << during << " writes acknowledged during "
            << "it, " << failed.load() << " failed (retried by the client "
            << "within its deadline and then reported)\n";
  // Nothing to do once every pod runs the template.
  auto again = infra_->ReplicasToUpgrade(1);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  for (const auto& [key, value] : acked) written_[key] = value;
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
}

TEST_F(BackendTest, AnOrchestratorStoppedMidWorkflowResumesFromTheStatus) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Json::object()));
  {
    auto o = NewOrchestrator();
    Status s = o->ScaleOut({1});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_NO_FATAL_FAILURE(WriteKeys("k", 200));
  {
    // The "operator" dies once the new shard has joined the map.
    std::atomic<bool> abort{false};
    auto options = Fast();
    options.on_progress = [&](const orchestration::Progress& p) {
      if (p.step == "rebalance") abort = true;
    };
    options.abort_requested = [&] { return abort.load(); };
    auto o = NewOrchestrator(options);
    Status s = o->ScaleOut({2});
    ASSERT_EQ(s.code(), Code::kAborted) << s.ToString();
  }
  const std::string recorded = WorkflowInStatus();
  EXPECT_NE(recorded.find("workflow scale-out\nstep rebalance\n"),
            std::string::npos)
      << recorded;
  // Another operator (new objects, nothing shared in memory) resumes.
  intents_ = std::make_unique<StatusIntentStore>(*kube_, ns_, "demo");
  infra_ = std::make_unique<KubeInfrastructure>(*kube_, kv_, addresses_,
                                                "shardkv:v1");
  auto o = NewOrchestrator();
  EXPECT_EQ(o->ScaleIn({1}).code(), Code::kFailedPrecondition);  // busy
  Status s = o->Resume();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(WorkflowInStatus(), "");
  auto map = controller_->GetMap();
  ASSERT_TRUE(map.ok());
  EXPECT_TRUE(orchestration::Balanced(*map));
  EXPECT_GT(orchestration::SlotsOwnedBy(*map, 2), 0u);
  ASSERT_NO_FATAL_FAILURE(VerifyKeys());
}

}  // namespace
}  // namespace shardkv::op
