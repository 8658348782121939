#include "operator/backend/backend_fixture.h"

#include <filesystem>
#include <thread>

#include "operator/backend/kube_objects.h"
#include "operator/desired_objects.h"
#include "operator/kube/api_server_env.h"
#include "operator/kube/config.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;

const kube::Resource kNamespaces{"", "v1", "namespaces", false};
const kube::Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs", true};

// The CRD, installed once per test binary.
void InstallCrd() {
  static bool installed = false;
  if (installed) return;
  const std::string kubectl = kube::ApiServerEnvironment::kubectl() +
                              " --kubeconfig " +
                              kube::ApiServerEnvironment::kubeconfig();
  std::string out;
  ASSERT_EQ(kube::RunCommand(kubectl + " apply --server-side -f " +
                                 kube::ApiServerEnvironment::source_dir() +
                                 "/crds/shardkv.io_shardedkvs.yaml",
                             &out),
            0)
      << out;
  ASSERT_EQ(
      kube::RunCommand(kubectl + " wait --for condition=established "
                                 "--timeout=60s crd/shardedkvs.shardkv.io",
                       &out),
      0)
      << out;
  installed = true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = std::isalnum(c) ? std::tolower(c) : '-';
  return s;
}

}  // namespace

orchestration::WorkflowOptions BackendTest::Fast() {
  orchestration::WorkflowOptions o;
  o.shard_ready_timeout = milliseconds(120'000);
  o.map_timeout = milliseconds(300'000);
  o.poll_interval = milliseconds(200);
  return o;
}

void BackendTest::StartCluster(const Json& spec) {
  ASSERT_NO_FATAL_FAILURE(InstallCrd());
  auto config = kube::LoadKubeconfig(kube::ApiServerEnvironment::kubeconfig());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto client = kube::KubeClient::Create(*config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  kube_ = std::move(*client);
  ns_ = Lower(::testing::UnitTest::GetInstance()->current_test_info()->name());
  if (ns_.size() > 50) ns_.resize(50);
  ASSERT_TRUE(kube_
                  ->Create(kube::ResourcePath(kNamespaces, ""),
                           {{"apiVersion", "v1"},
                            {"kind", "Namespace"},
                            {"metadata", {{"name", ns_}}}})
                  .ok());
  Json full = {{"replicasPerShard", 3},
               {"controllerReplicas", 1},
               {"slotCount", 64},
               {"shards", 1},
               {"image", "shardkv:v1"}};
  full.update(spec);
  auto created = kube_->Create(kube::ResourcePath(kShardedKVs, ns_),
                               {{"apiVersion", kApiVersion},
                                {"kind", kKind},
                                {"metadata", {{"name", "demo"}}},
                                {"spec", full}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto kv = ParseShardedKV(*created);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  kv_ = *kv;

  work_dir_ = std::filesystem::temp_directory_path() /
              ("k2-backend-" + std::to_string(getpid()) + "-" + ns_);
  std::filesystem::remove_all(work_dir_);
  testing::KubeletSimOptions options;
  options.ns = ns_;
  options.bin_dir = SHARDKV_BIN_DIR;
  options.work_dir = work_dir_;
  sim_ = std::make_unique<testing::KubeletSim>(*kube_, addresses_, options);
  ASSERT_TRUE(sim_->Start().ok());

  infra_ = std::make_unique<KubeInfrastructure>(*kube_, kv_, addresses_,
                                                "shardkv:v1");
  // The controller group, as the reconciler applies it (its identity
  // record first: the pods read their Raft ids from it).
  ASSERT_TRUE(infra_->EnsureControllerIdentity().ok());
  ASSERT_TRUE(ApplyObject(*kube_, ControllerService(kv_)).ok());
  ASSERT_TRUE(
      ApplyObject(*kube_, ControllerStatefulSet(kv_, "shardkv:v1", addresses_))
          .ok());
  const std::string controller =
      addresses_.Address(kv_, ControllerSetName(kv_), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto pod = kube_->Get(
            kube::ResourcePath(kPods, ns_, ControllerSetName(kv_) + "-0"));
        return pod.ok() && PodReady(*pod);
      },
      milliseconds(60'000)))
      << sim_->PodLog(ControllerSetName(kv_) + "-0");

  intents_ = std::make_unique<StatusIntentStore>(*kube_, ns_, "demo");
  controller_ = std::make_unique<orchestration::GrpcControllerApi>(
      std::vector<std::string>{controller});
  admin_ = std::make_unique<orchestration::AdminShardAdmin>(
      [this](
          orchestration::ShardId shard) -> StatusOr<std::vector<std::string>> {
        return infra_->ShardEndpoints(shard);
      });
}

void BackendTest::TearDown() {
  client_.reset();
  if (sim_) sim_->Stop();
  sim_.reset();
  if (kube_ && !ns_.empty()) {
    Status deleted = kube_->Delete(kube::ResourcePath(kNamespaces, "", ns_));
    EXPECT_TRUE(deleted.ok()) << deleted.ToString();
  }
  if (!work_dir_.empty() && !HasFailure()) {
    std::filesystem::remove_all(work_dir_);
  }
}

std::unique_ptr<orchestration::Orchestrator> BackendTest::NewOrchestrator(
    orchestration::WorkflowOptions options) {
  return std::make_unique<orchestration::Orchestrator>(
      *infra_, *controller_, *admin_, *intents_, std::move(options));
}

void BackendTest::WriteKeys(const std::string& prefix, int count) {
  if (!client_) {
    client::RoutingClientOptions options;
    options.endpoints = {addresses_.Address(kv_, ControllerSetName(kv_), 0)};
    options.timeout = milliseconds(10'000);
    auto created = client::RoutingClient::Create(options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    client_ = std::move(*created);
  }
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + "-" + std::to_string(i);
    std::string value = "value-of-" + key;
    auto set = client_->Set(key, value);
    ASSERT_TRUE(set.ok()) << key << ": " << set.status().ToString();
    written_[key] = value;
  }
}

void BackendTest::VerifyKeys() {
  ASSERT_TRUE(client_ != nullptr);
  int wrong = 0;
  for (const auto& [key, value] : written_) {
    auto get = client_->Get(key);
    if (!get.ok() || get->value != value) {
      if (++wrong < 5) {
        ADD_FAILURE() << key << ": "
                      << (get.ok() ? get->value : get.status().ToString());
      }
    }
  }
  EXPECT_EQ(wrong, 0) << "of " << written_.size() << " keys";
}

Json BackendTest::Get(const kube::Resource& resource, const std::string& name) {
  auto object = kube_->Get(kube::ResourcePath(resource, ns_, name));
  return object.ok() ? *object : Json();
}

bool BackendTest::Exists(const kube::Resource& resource,
                         const std::string& name) {
  return kube_->Get(kube::ResourcePath(resource, ns_, name)).ok();
}

std::vector<std::string> BackendTest::ClaimNames(int shard) {
  std::vector<std::string> names;
  auto claims = ListShardClaims(*kube_, kv_, shard);
  if (!claims.ok()) return names;
  for (const Json& claim : *claims) {
    if (!claim["metadata"].contains("deletionTimestamp")) {
      names.push_back(claim["metadata"].value("name", ""));
    }
  }
  return names;
}

std::string BackendTest::WorkflowInStatus() {
  Json kv = Get(kShardedKVs, "demo");
  if (!kv.contains("status")) return "";
  return kv["status"].value("workflow", "");
}

bool BackendTest::WaitFor(const std::function<bool()>& done,
                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return done();
}

}  // namespace shardkv::op
