#include "operator/operator_test_util.h"

#include <gtest/gtest.h>

#include "operator/kube/api_server_env.h"

namespace shardkv::op {
namespace {

using kube::ApiServerEnvironment;

// Forwards to a FakeClusterBackend that outlives any one operator.
class SharedBackend final : public ClusterBackend {
 public:
  explicit SharedBackend(std::shared_ptr<FakeClusterBackend> fake)
      : fake_(std::move(fake)) {}
  orchestration::Infrastructure& infrastructure() override {
    return fake_->infrastructure();
  }
  orchestration::ControllerApi& controller() override {
    return fake_->controller();
  }
  orchestration::ShardAdmin& admin() override { return fake_->admin(); }
  orchestration::IntentStore& intents() override { return fake_->intents(); }
  void UpdateSpec(const ShardedKV& kv) override { fake_->UpdateSpec(kv); }
  StatusOr<orchestration::ReplicaId> ReplicaIdAt(orchestration::ShardId shard,
                                                 int ordinal) override {
    return fake_->ReplicaIdAt(shard, ordinal);
  }
  StatusOr<int> OrdinalOf(orchestration::ShardId shard,
                          orchestration::ReplicaId id) override {
    return fake_->OrdinalOf(shard, id);
  }
  StatusOr<v1::SlotMap> ObserveMap() override { return fake_->ObserveMap(); }
  StatusOr<int> ObserveLeaderOrdinal(orchestration::ShardId shard) override {
    return fake_->ObserveLeaderOrdinal(shard);
  }

 private:
  std::shared_ptr<FakeClusterBackend> fake_;
};

void InstallCrdOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string kubectl = ApiServerEnvironment::kubectl() +
                                " --kubeconfig " +
                                ApiServerEnvironment::kubeconfig();
    std::string output;
    int rc = kube::RunCommand(kubectl + " apply -f " +
                                  ApiServerEnvironment::source_dir() +
                                  "/crds/shardkv.io_shardedkvs.yaml 2>&1",
                              &output);
    ASSERT_EQ(rc, 0) << output;
    rc = kube::RunCommand(kubectl +
                              " wait --for condition=established --timeout=60s"
                              " crd/shardedkvs.shardkv.io 2>&1",
                          &output);
    ASSERT_EQ(rc, 0) << output;
  });
}

}  // namespace

std::string ConditionStatus(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions")) return "absent";
  for (const Json& c : status["conditions"]) {
    if (c.value("type", "") == type) return c.value("status", "");
  }
  return "absent";
}

OperatorTestEnv::OperatorTestEnv(std::string ns) : ns_(std::move(ns)) {
  client_ =
      kube::KubeClient::Create(
          kube::LoadKubeconfig(ApiServerEnvironment::kubeconfig()).value())
          .value();
  InstallCrdOnce();
  Json namespace_object = {{"apiVersion", "v1"},
                           {"kind", "Namespace"},
                           {"metadata", {{"name", ns_}}}};
  auto created =
      client_->Create(kube::ResourcePath({"", "v1", "namespaces", false}, ""),
                      namespace_object);
  EXPECT_TRUE(created.ok() || created.status().code() == Code::kAlreadyExists)
      << created.status().ToString();
}

Status OperatorTestEnv::CreateCluster(const std::string& name, int shards,
                                      const Json& extra_spec) {
  Json spec = {{"shards", shards}, {"slotCount", 16}};
  spec.update(extra_spec);
  Json object = {{"apiVersion", kApiVersion},
                 {"kind", kKind},
                 {"metadata", {{"name", name}, {"namespace", ns_}}},
                 {"spec", spec}};
  return client_->Create(kube::ResourcePath(kShardedKVs, ns_), object).status();
}

Json OperatorTestEnv::Get(const std::string& name) {
  auto got = client_->Get(kube::ResourcePath(kShardedKVs, ns_, name));
  return got.ok() ? *got : Json::object();
}

Json OperatorTestEnv::StatusOf(const std::string& name) {
  return Get(name).value("status", Json::object());
}

Status OperatorTestEnv::MergeSpec(const std::string& name, const Json& spec) {
  return client_
      ->MergePatch(kube::ResourcePath(kShardedKVs, ns_, name), {{"spec", spec}})
      .status();
}

Status OperatorTestEnv::SetShards(const std::string& name, int shards) {
  return MergeSpec(name, {{"shards", shards}});
}

bool OperatorTestEnv::HasEvent(const std::string& name,
                               const std::string& reason) {
  auto events = client_->List(kube::ResourcePath(kEvents, ns_));
  if (!events.ok()) return false;
  for (const Json& e : (*events)["items"]) {
    if (e["involvedObject"].value("name", "") == name &&
        e.value("reason", "") == reason) {
      return true;
    }
  }
  return false;
}

ClusterBackendFactory OperatorTestEnv::SharedFakeFactory() {
  return
      [this](const ShardedKV& kv) -> StatusOr<std::unique_ptr<ClusterBackend>> {
        std::lock_guard<std::mutex> lock(mu_);
        std::shared_ptr<FakeClusterBackend>& fake = by_uid_[kv.uid];
        if (fake == nullptr) {
          fake = std::make_shared<FakeClusterBackend>(kv.slot_count,
                                                      kv.replicas_per_shard);
          ++made_[kv.name];
        }
        uid_of_[kv.name] = kv.uid;
        return std::unique_ptr<ClusterBackend>(new SharedBackend(fake));
      };
}

std::unique_ptr<Operator> OperatorTestEnv::StartOperator(
    const std::string& identity, bool leader_elect,
    const std::function<void(OperatorOptions&)>& options_hook) {
  OperatorOptions options;
  options.kube_config =
      kube::LoadKubeconfig(ApiServerEnvironment::kubeconfig()).value();
  options.watch_namespace = ns_;
  options.default_image = "shardkv:test";
  options.identity = identity;
  options.leader_elect = leader_elect;
  options.lease_name = "shardkv-operator";
  options.lease_namespace = ns_;
  options.lease_duration = std::chrono::seconds(4);
  options.renew_deadline = std::chrono::seconds(3);
  options.retry_period = std::chrono::milliseconds(300);
  options.backend_factory = SharedFakeFactory();
  options.workflow.poll_interval = std::chrono::milliseconds(10);
  options.workflow.map_timeout = std::chrono::milliseconds(60'000);
  options.resync = std::chrono::milliseconds(1000);
  options.busy_resync = std::chrono::milliseconds(200);
  options.watch_timeout = std::chrono::seconds(5);
  if (options_hook) options_hook(options);
  auto created = Operator::Create(options);
  if (!created.ok()) {
    ADD_FAILURE() << created.status().ToString();
    return nullptr;
  }
  Status started = (*created)->Start();
  if (!started.ok()) {
    ADD_FAILURE() << started.ToString();
    return nullptr;
  }
  return std::move(*created);
}

std::shared_ptr<FakeClusterBackend> OperatorTestEnv::backend(
    const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto uid = uid_of_.find(name);
  if (uid == uid_of_.end()) return std::make_shared<FakeClusterBackend>();
  return by_uid_[uid->second];
}

int OperatorTestEnv::backends_made(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return made_[name];
}

std::vector<ShardId> OperatorTestEnv::MapShardIds(const std::string& name) {
  std::vector<ShardId> ids;
  backend(name)->WithCluster([&](orchestration::FakeCluster& c) {
    for (const v1::Shard& s : c.map().shards()) ids.push_back(s.id());
  });
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace shardkv::op
