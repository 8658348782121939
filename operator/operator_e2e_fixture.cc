#include "operator/operator_e2e_fixture.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include "operator/desired_objects.h"
#include "operator/kube/api_server_env.h"
#include "operator/kube_cluster_backend.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;

// Not kube_objects.h: operator_test_util.h names some of the same.
const kube::Resource kPodObjects{"", "v1", "pods", true};
const kube::Resource kConfigMapObjects{"", "v1", "configmaps", true};

}  // namespace

std::string NodeBinDir() {
  const char* dir = std::getenv("SHARDKV_NODE_BIN_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return SHARDKV_BIN_DIR;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void OperatorE2eTest::SetUp() {
  work_ = std::filesystem::temp_directory_path() /
          ("shardkv-op-e2e-" + std::to_string(getpid()));
  std::filesystem::create_directories(work_);
  backend_client_ =
      kube::KubeClient::Create(
          kube::LoadKubeconfig(kube::ApiServerEnvironment::kubeconfig())
              .value())
          .value();
}

void OperatorE2eTest::TearDown() {
  if (sim_) sim_->Stop();
  std::error_code ignored;
  std::filesystem::remove_all(work_, ignored);
}

void OperatorE2eTest::StartSim(
    OperatorTestEnv& env,
    const std::function<void(testing::KubeletSimOptions&)>& hook) {
  ASSERT_TRUE(std::filesystem::exists(NodeBinDir() + "/shardkv-node"))
      << "no shardkv-node in " << NodeBinDir()
      << ": build the shardkv-node target or set SHARDKV_NODE_BIN_DIR";
  testing::KubeletSimOptions options;
  options.ns = env.ns();
  options.bin_dir = NodeBinDir();
  options.work_dir = work_.string();
  if (hook) hook(options);
  // The fixture's own client, not env's: the simulator's thread runs
  // until TearDown, after the test body's env (and its client) is gone.
  sim_ = std::make_unique<testing::KubeletSim>(*backend_client_, addresses_,
                                               options);
  ASSERT_TRUE(sim_->Start().ok());
}

std::unique_ptr<Operator> OperatorE2eTest::Start(OperatorTestEnv& env,
                                                 const std::string& identity) {
  return env.StartOperator(identity, false, [&](OperatorOptions& o) {
    o.controller_set = [this](const ShardedKV& kv, const std::string& image) {
      return ControllerStatefulSet(kv, image, addresses_);
    };
    o.backend_factory = KubeClusterBackendFactory(backend_client_.get(),
                                                  &addresses_, "shardkv:test");
    o.workflow.poll_interval = milliseconds(200);
    o.workflow.shard_ready_timeout = milliseconds(120'000);
  });
}

std::unique_ptr<client::RoutingClient> OperatorE2eTest::Client(
    const ShardedKV& kv) {
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

void OperatorE2eTest::WriteKeys(client::RoutingClient& client, int from,
                                int to) {
  for (int i = from; i < to; ++i) {
    const std::string key = "key-" + std::to_string(i);
    auto set = client.Set(key, "value-" + std::to_string(i));
    ASSERT_TRUE(set.ok()) << key << ": " << set.status().ToString();
    written_[key] = "value-" + std::to_string(i);
  }
}

void OperatorE2eTest::VerifyKeys(client::RoutingClient& client,
                                 const std::string& when) {
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

StatusOr<v1::StatusResponse> OperatorE2eTest::NodeStatus(
    const std::string& address) {
  auto stub = v1::Admin::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + milliseconds(1000));
  v1::StatusRequest request;
  v1::StatusResponse response;
  grpc::Status s = stub->Status(&context, request, &response);
  if (!s.ok()) return Unavailable(address + ": " + s.error_message());
  return response;
}

std::string WorkflowOf(OperatorTestEnv& env) {
  const Json status = env.Get("demo").value("status", Json::object());
  return status.value("workflow", "");
}

bool Settled(OperatorTestEnv& env, int shards) {
  Json s = env.StatusOf("demo");
  return s.value("shards", 0) == shards && s.value("phase", "") == "Running" &&
         s.value("readyShards", 0) == shards && WorkflowOf(env).empty();
}

Json ConditionOf(OperatorTestEnv& env, const std::string& type) {
  for (const Json& c : env.StatusOf("demo").value("conditions", Json())) {
    if (c.value("type", "") == type) return c;
  }
  return Json::object();
}

std::vector<std::string> EventMessages(OperatorTestEnv& env,
                                       const std::string& reason) {
  std::vector<std::string> messages;
  auto events = env.client().List(kube::ResourcePath(kEvents, env.ns()));
  if (!events.ok()) return messages;
  for (const Json& e : (*events)["items"]) {
    if (e["involvedObject"].value("name", "") == "demo" &&
        e.value("reason", "") == reason) {
      messages.push_back(e.value("message", ""));
    }
  }
  return messages;
}

Json PodOf(OperatorTestEnv& env, const std::string& name) {
  auto pod = env.client().Get(kube::ResourcePath(kPodObjects, env.ns(), name));
  return pod.ok() ? *pod : Json::object();
}

Json IdentityOf(OperatorTestEnv& env, int shard) {
  const std::string name =
      shard == 0 ? "demo-controller-identity"
                 : "demo-shard-" + std::to_string(shard) + "-identity";
  auto map =
      env.client().Get(kube::ResourcePath(kConfigMapObjects, env.ns(), name));
  return map.ok() ? map->value("data", Json::object()) : Json::object();
}

}  // namespace shardkv::op
