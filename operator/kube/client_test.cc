// KubeClient against a real kube-apiserver (e2e/apiserver.sh).
#include "operator/kube/client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "operator/kube/api_server_env.h"

namespace shardkv::kube {
namespace {

const Resource kConfigMaps{"", "v1", "configmaps", true};
const Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs", true};

std::unique_ptr<KubeClient> AdminClient() {
  StatusOr<KubeConfig> config =
      LoadKubeconfig(ApiServerEnvironment::kubeconfig());
  EXPECT_TRUE(config.ok()) << config.status().message();
  StatusOr<std::unique_ptr<KubeClient>> client =
      KubeClient::Create(std::move(*config));
  EXPECT_TRUE(client.ok()) << client.status().message();
  return std::move(*client);
}

Json ConfigMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"data", {{"value", value}}}};
}

TEST(KubeClientTest, TalksToTheServerWithClientCertificates) {
  auto client = AdminClient();
  StatusOr<Json> version = client->Get("/version");
  ASSERT_TRUE(version.ok()) << version.status().message();
  EXPECT_EQ(version->value("gitVersion", "").rfind("v1.30.", 0), 0u)
      << version->dump();
}

TEST(KubeClientTest, CreateGetReplaceDelete) {
  auto client = AdminClient();
  const std::string path = ResourcePath(kConfigMaps, "default", "crud");
  ASSERT_TRUE(client
                  ->Create(ResourcePath(kConfigMaps, "default"),
                           ConfigMap("crud", "one"))
                  .ok());
  StatusOr<Json> again = client->Create(ResourcePath(kConfigMaps, "default"),
                                        ConfigMap("crud", "one"));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);

  StatusOr<Json> got = client->Get(path);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ((*got)["data"]["value"], "one");

  Json changed = *got;
  changed["data"]["value"] = "two";
  ASSERT_TRUE(client->Replace(path, changed).ok());
  // `changed` still carries the old resourceVersion: a stale write.
  changed["data"]["value"] = "three";
  StatusOr<Json> stale = client->Replace(path, changed);
  EXPECT_EQ(stale.status().code(), Code::kAborted) << stale.status().message();
  EXPECT_EQ((*client->Get(path))["data"]["value"], "two");

  EXPECT_TRUE(client->Delete(path).ok());
  EXPECT_EQ(client->Get(path).status().code(), Code::kNotFound);
  EXPECT_EQ(client->Delete(path).code(), Code::kNotFound);
}

TEST(KubeClientTest, ServerSideApplyOwnsFieldsPerManager) {
  auto client = AdminClient();
  const std::string path = ResourcePath(kConfigMaps, "default", "applied");
  Json intent = ConfigMap("applied", "v1");
  ASSERT_TRUE(client->Apply(path, intent, "shardkv-operator").ok());
  // Applying the same intent again changes nothing.
  const std::string rv =
      (*client->Get(path))["metadata"]["resourceVersion"].get<std::string>();
  ASSERT_TRUE(client->Apply(path, intent, "shardkv-operator").ok());
  EXPECT_EQ((*client->Get(path))["metadata"]["resourceVersion"], rv);

  // Another manager may not take the field without force.
  Json other = ConfigMap("applied", "theirs");
  StatusOr<Json> conflict = client->Apply(path, other, "someone-else", false);
  EXPECT_EQ(conflict.status().code(), Code::kAborted);
  EXPECT_NE(conflict.status().message().find("conflict"), std::string::npos)
      << conflict.status().message();
  EXPECT_TRUE(client->Apply(path, other, "someone-else", true).ok());
  EXPECT_EQ((*client->Get(path))["data"]["value"], "theirs");
  EXPECT_EQ(client->Apply(path, intent, "").status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(client->Delete(path).ok());
}

TEST(KubeClientTest, ListPagesAndSelectors) {
  auto client = AdminClient();
  for (int i = 0; i < 5; ++i) {
    Json cm = ConfigMap("page-" + std::to_string(i), "x");
    cm["metadata"]["labels"] = {{"test", "paging"}};
    ASSERT_TRUE(client->Create(ResourcePath(kConfigMaps, "default"), cm).ok());
  }
  ListOptions options;
  options.label_selector = "test=paging";
  options.limit = 2;
  StatusOr<Json> page =
      client->List(ResourcePath(kConfigMaps, "default"), options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ((*page)["items"].size(), 2u);
  StatusOr<Json> all =
      client->ListAll(ResourcePath(kConfigMaps, "default"), options);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["items"].size(), 5u);
  EXPECT_FALSE((*all)["metadata"].value("resourceVersion", "").empty());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(client
                    ->Delete(ResourcePath(kConfigMaps, "default",
                                          "page-" + std::to_string(i)))
                    .ok());
  }
}

TEST(KubeClientTest, WatchSeesChangesAndReportsGoneAsOutOfRange) {
  auto client = AdminClient();
  StatusOr<Json> list = client->List(ResourcePath(kConfigMaps, "default"));
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(client
                  ->Create(ResourcePath(kConfigMaps, "default"),
                           ConfigMap("watched", "w"))
                  .ok());
  WatchOptions options;
  options.resource_version = (*list)["metadata"]["resourceVersion"];
  options.timeout = std::chrono::seconds(10);
  std::vector<std::string> seen;
  Status watched = client->Watch(
      ResourcePath(kConfigMaps, "default"), options,
      [&](const WatchEvent& event) {
        seen.push_back(event.type + " " +
                       event.object["metadata"].value("name", ""));
        return event.type != "ADDED";  // stop at the first change
      });
  ASSERT_TRUE(watched.ok()) << watched.message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), "ADDED watched");

  // A version etcd has compacted away: 410 Gone. (PodTemplates bypass the
  // fixture's watch cache, which would replay its cached events instead.)
  // Compaction runs every 5 s, so a fixture just started may still have
  // version 1 for a few seconds.
  options.resource_version = "1";
  options.timeout = std::chrono::seconds(2);
  Status gone;
  for (int attempt = 0; attempt < 15 && gone.ok(); ++attempt) {
    gone =
        client->Watch(ResourcePath({"", "v1", "podtemplates", true}, "default"),
                      options, [](const WatchEvent&) { return true; });
  }
  EXPECT_EQ(gone.code(), Code::kOutOfRange) << gone.message();
  EXPECT_TRUE(
      client->Delete(ResourcePath(kConfigMaps, "default", "watched")).ok());
}

TEST(KubeClientTest, WatchCancelledFromAnotherThreadEndsAtOnce) {
  auto client = AdminClient();
  WatchCanceller canceller;
  WatchOptions options;
  options.timeout = std::chrono::seconds(60);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    canceller.Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  Status status = client->Watch(
      ResourcePath(kConfigMaps, "kube-system"), options,
      [](const WatchEvent&) { return true; }, &canceller);
  stopper.join();
  EXPECT_EQ(status.code(), Code::kCancelled) << status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(KubeClientTest, InClusterServiceAccountTokenIsSubjectToRbac) {
  auto admin = AdminClient();
  const Resource service_accounts{"", "v1", "serviceaccounts", true};
  Json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", {{"name", "reader"}, {"namespace", "default"}}}};
  ASSERT_TRUE(
      admin->Create(ResourcePath(service_accounts, "default"), sa).ok());
  Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"spec", {{"expirationSeconds", 3600}}}};
  StatusOr<Json> token = admin->Create(
      ResourcePath(service_accounts, "default", "reader", "token"), request);
  ASSERT_TRUE(token.ok()) << token.status().message();

  // The files a pod would see, and the service address it would be given.
  const std::string secrets = ApiServerEnvironment::dir() + "/sa-reader";
  std::filesystem::create_directories(secrets);
  std::ofstream(secrets + "/token")
      << (*token)["status"]["token"].get<std::string>() << "\n";
  std::filesystem::copy_file(ApiServerEnvironment::dir() + "/pki/ca.crt",
                             secrets + "/ca.crt");
  std::ofstream(secrets + "/namespace") << "default";
  const std::string server = admin->config().server;
  InClusterSource source;
  source.host = "127.0.0.1";
  source.port = server.substr(server.rfind(':') + 1);
  source.secrets_dir = secrets;
  StatusOr<KubeConfig> config = LoadInClusterConfig(source);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->default_namespace, "default");
  auto pod_client = KubeClient::Create(*config).value();

  const std::string configmaps = ResourcePath(kConfigMaps, "default");
  EXPECT_EQ(pod_client->List(configmaps).status().code(),
            Code::kPermissionDenied);
  const Resource roles{"rbac.authorization.k8s.io", "v1", "roles", true};
  const Resource bindings{"rbac.authorization.k8s.io", "v1", "rolebindings",
                          true};
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", "cm-reader"}, {"namespace", "default"}}},
               {"rules",
                {{{"apiGroups", {""}},
                  {"resources", {"configmaps"}},
                  {"verbs", {"list"}}}}}};
  Json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "RoleBinding"},
      {"metadata", {{"name", "cm-reader"}, {"namespace", "default"}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"},
        {"kind", "Role"},
        {"name", "cm-reader"}}},
      {"subjects",
       {{{"kind", "ServiceAccount"},
         {"name", "reader"},
         {"namespace", "default"}}}}};
  ASSERT_TRUE(admin->Create(ResourcePath(roles, "default"), role).ok());
  ASSERT_TRUE(admin->Create(ResourcePath(bindings, "default"), binding).ok());
  // RBAC changes reach the authorizer's cache within moments.
  Status listed = Unavailable("never listed");
  for (int i = 0; i < 50 && !listed.ok(); ++i) {
    listed = pod_client->List(configmaps).status();
    if (!listed.ok())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(listed.ok()) << listed.message();
  EXPECT_EQ(pod_client->Get(ResourcePath(kConfigMaps, "default", "x"))
                .status()
                .code(),
            Code::kPermissionDenied)
      << "the role grants list only";
}

TEST(KubeClientTest, ShardedKVDefaultsStatusAndScaleSubresources) {
  std::string out;
  ASSERT_EQ(RunCommand(ApiServerEnvironment::kubectl() + " --kubeconfig " +
                           ApiServerEnvironment::kubeconfig() +
                           " apply --server-side -f " +
                           ApiServerEnvironment::source_dir() +
                           "/crds/shardkv.io_shardedkvs.yaml 2>&1 && " +
                           ApiServerEnvironment::kubectl() + " --kubeconfig " +
                           ApiServerEnvironment::kubeconfig() +
                           " wait --for condition=Established "
                           "crd/shardedkvs.shardkv.io 2>&1",
                       &out),
            0)
      << out;
  auto client = AdminClient();
  const std::string path = ResourcePath(kShardedKVs, "default", "sub");
  Json intent = {{"apiVersion", "shardkv.io/v1alpha1"},
                 {"kind", "ShardedKV"},
                 {"metadata", {{"name", "sub"}, {"namespace", "default"}}},
                 {"spec", {{"shards", 3}}}};
  StatusOr<Json> applied = client->Apply(path, intent, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ((*applied)["spec"]["replicasPerShard"], 3);
  EXPECT_EQ((*applied)["spec"]["slotCount"], 4096);
  EXPECT_EQ((*applied)["spec"]["storage"]["retainOnScaleIn"], true);

  Json with_status = *applied;
  with_status["status"] = {
      {"observedGeneration", (*applied)["metadata"]["generation"]},
      {"shards", 3},
      {"readyShards", 2},
      {"selector", "shardkv.io/cluster=sub"},
      {"conditions",
       {{{"type", "Available"},
         {"status", "False"},
         {"reason", "ShardsNotReady"},
         {"message", "2 of 3 shards ready"},
         {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}};
  with_status["spec"]["shards"] = 7;  // ignored by the status subresource
  StatusOr<Json> updated = client->Replace(
      ResourcePath(kShardedKVs, "default", "sub", "status"), with_status);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  StatusOr<Json> now = client->Get(path);
  EXPECT_EQ((*now)["status"]["readyShards"], 2);
  EXPECT_EQ((*now)["spec"]["shards"], 3);

  StatusOr<Json> scale =
      client->Get(ResourcePath(kShardedKVs, "default", "sub", "scale"));
  ASSERT_TRUE(scale.ok()) << scale.status().message();
  EXPECT_EQ((*scale)["spec"]["replicas"], 3);
  EXPECT_EQ((*scale)["status"]["selector"], "shardkv.io/cluster=sub");
  Json rescale = *scale;
  rescale["spec"]["replicas"] = 5;
  ASSERT_TRUE(
      client
          ->Replace(ResourcePath(kShardedKVs, "default", "sub", "scale"),
                    rescale)
          .ok());
  EXPECT_EQ((*client->Get(path))["spec"]["shards"], 5);
  EXPECT_TRUE(client->Delete(path).ok());
}

}  // namespace
}  // namespace shardkv::kube
