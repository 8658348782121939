// The operator end to end on this machine: the real kube-apiserver, the
// operator in-process with its real Kubernetes backend (KubeInfrastructure,
// the controller over gRPC, the intent in the status), and the kubelet
// simulator running REAL shardkv-node processes for the pods it creates.
// Data goes through the routing client; every key is verified after each
// step: bootstrap of 2 shards, scale-out 2 -> 3, scale-in 3 -> 2, and an
// operator destroyed mid-workflow with a new one resuming.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "client/routing_client.h"
#include "operator/desired_objects.h"
#include "operator/kube/api_server_env.h"
#include "operator/kube_cluster_backend.h"
#include "operator/operator_test_util.h"
#include "operator/testing/kubelet_sim.h"
#include "operator/testing/loopback_pod_addresses.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Where shardkv-node is: $SHARDKV_NODE_BIN_DIR, else <build>/bin.
std::string BinDir() {
  const char* dir = std::getenv("SHARDKV_NODE_BIN_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return SHARDKV_BIN_DIR;
}

class OperatorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = std::filesystem::temp_directory_path() /
            ("shardkv-op-e2e-" + std::to_string(getpid()));
    std::filesystem::create_directories(work_);
    backend_client_ =
        kube::KubeClient::Create(
            kube::LoadKubeconfig(kube::ApiServerEnvironment::kubeconfig())
                .value())
            .value();
  }
  void TearDown() override {
    if (sim_) sim_->Stop();
    std::error_code ignored;
    std::filesystem::remove_all(work_, ignored);
  }

  void StartSim(OperatorTestEnv& env) {
    ASSERT_TRUE(std::filesystem::exists(BinDir() + "/shardkv-node"))
        << "no shardkv-node in " << BinDir()
        << ": build the shardkv-node target or set SHARDKV_NODE_BIN_DIR";
    testing::KubeletSimOptions options;
    options.ns = env.ns();
    options.bin_dir = BinDir();
    options.work_dir = work_.string();
    // The fixture's own client, not env's: the simulator's thread runs
    // until TearDown, after the test body's env (and its client) is gone.
    sim_ = std::make_unique<testing::KubeletSim>(*backend_client_, addresses_,
                                                 options);
    ASSERT_TRUE(sim_->Start().ok());
  }

  std::unique_ptr<Operator> Start(OperatorTestEnv& env,
                                  const std::string& identity) {
    return env.StartOperator(identity, false, [&](OperatorOptions& o) {
      o.controller_set = [this](const ShardedKV& kv, const std::string& image) {
        return ControllerStatefulSet(kv, image, addresses_);
      };
      o.backend_factory = KubeClusterBackendFactory(
          backend_client_.get(), &addresses_, "shardkv:test");
      o.workflow.poll_interval = milliseconds(200);
      o.workflow.shard_ready_timeout = milliseconds(120'000);
    });
  }

  std::unique_ptr<client::RoutingClient> Client(const ShardedKV& kv) {
    client::RoutingClientOptions options;
    for (int i = 0; i < kv.controller_replicas; ++i) {
      options.endpoints.push_back(
          addresses_.Address(kv, ControllerSetName(kv), i));
    }
    options.timeout = milliseconds(20'000);
    auto created = client::RoutingClient::Create(options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? std::move(*created) : nullptr;
  }

  void WriteKeys(client::RoutingClient& client, int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::string key = "key-" + std::to_string(i);
      auto set = client.Set(key, "value-" + std::to_string(i));
      ASSERT_TRUE(set.ok()) << key << ": " << set.status().ToString();
      written_[key] = "value-" + std::to_string(i);
    }
  }

  void VerifyKeys(client::RoutingClient& client, const std::string& when) {
    int bad = 0;
    for (const auto& [key, value] : written_) {
      auto got = client.Get(key);
      if (!got.ok() || got->value != value) {
        if (++bad <= 5) {
          ADD_FAILURE() << when << ": " << key << " -> "
                        << (got.ok() ? got->value : got.status().ToString());
        }
      }
    }
    EXPECT_EQ(bad, 0) << when << ": " << bad << " of " << written_.size()
                      << " keys wrong";
  }

  std::filesystem::path work_;
  testing::LoopbackPodAddresses addresses_;
  std::unique_ptr<kube::KubeClient> backend_client_;
  std::unique_ptr<testing::KubeletSim> sim_;
  std::map<std::string, std::string> written_;
};

// The recorded intent; empty when no workflow runs (StatusIntentStore
// clears it to "", the field stays).
std::string WorkflowOf(OperatorTestEnv& env) {
  const Json status = env.Get("demo").value("status", Json::object());
  return status.value("workflow", "");
}

bool Settled(OperatorTestEnv& env, int shards) {
  Json s = env.StatusOf("demo");
  return s.value("shards", 0) == shards && s.value("phase", "") == "Running" &&
         s.value("readyShards", 0) == shards && WorkflowOf(env).empty();
}

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
  second->Stop();
}

}  // namespace
}  // namespace shardkv::op
