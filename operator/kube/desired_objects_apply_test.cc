// The desired objects are valid Kubernetes objects: the real API server
// accepts them by server-side apply (strict about unknown fields), and
// applying them again is a no-op.
#include <gtest/gtest.h>

#include "operator/desired_objects.h"
#include "operator/kube/api_server_env.h"
#include "operator/kube/client.h"

namespace shardkv::kube {
namespace {

Resource ResourceOf(const Json& object) {
  const std::string kind = object["kind"];
  if (kind == "StatefulSet") return {"apps", "v1", "statefulsets", true};
  if (kind == "Service") return {"", "v1", "services", true};
  if (kind == "PodDisruptionBudget") {
    return {"policy", "v1", "poddisruptionbudgets", true};
  }
  ADD_FAILURE() << "unexpected kind " << kind;
  return {};
}

TEST(DesiredObjectsApplyTest, ApiServerAcceptsEveryObjectAndReapplyIsANoOp) {
  auto client = KubeClient::Create(
                    LoadKubeconfig(ApiServerEnvironment::kubeconfig()).value())
                    .value();
  Json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", "desired"}}}};
  ASSERT_TRUE(
      client->Create(ResourcePath({"", "v1", "namespaces", false}, ""), ns)
          .ok());
  // The owner must exist for its uid; a ConfigMap stands in for the
  // ShardedKV here (garbage collection is not what this test checks).
  StatusOr<Json> owner = client->Create(
      ResourcePath({"", "v1", "configmaps", true}, "desired"),
      {{"apiVersion", "v1"},
       {"kind", "ConfigMap"},
       {"metadata", {{"name", "demo"}, {"namespace", "desired"}}}});
  ASSERT_TRUE(owner.ok());
  StatusOr<op::ShardedKV> kv = op::ParseShardedKV(
      {{"apiVersion", op::kApiVersion},
       {"kind", op::kKind},
       {"metadata",
        {{"name", "demo"},
         {"namespace", "desired"},
         {"uid", (*owner)["metadata"]["uid"]}}},
       {"spec",
        {{"shards", 2},
         {"resources", {{"requests", {{"cpu", "100m"}}}}},
         {"storage", {{"size", "1Gi"}, {"storageClassName", "fast"}}},
         {"podTemplate", {{"nodeSelector", {{"disk", "ssd"}}}}}}}});
  ASSERT_TRUE(kv.ok()) << kv.status().message();

  std::vector<std::string> versions;
  for (const Json& object : op::DesiredObjects(*kv, "shardkv:test")) {
    const std::string path =
        ResourcePath(ResourceOf(object), "desired", object["metadata"]["name"]);
    StatusOr<Json> applied = client->Apply(path, object, op::kFieldManager);
    ASSERT_TRUE(applied.ok())
        << object["kind"] << " " << object["metadata"]["name"] << ": "
        << applied.status().message();
    versions.push_back((*applied)["metadata"]["resourceVersion"]);
  }
  size_t i = 0;
  for (const Json& object : op::DesiredObjects(*kv, "shardkv:test")) {
    const std::string path =
        ResourcePath(ResourceOf(object), "desired", object["metadata"]["name"]);
    StatusOr<Json> applied = client->Apply(path, object, op::kFieldManager);
    ASSERT_TRUE(applied.ok());
    EXPECT_EQ((*applied)["metadata"]["resourceVersion"], versions[i++])
        << object["metadata"]["name"] << " changed on a second apply";
  }
}

}  // namespace
}  // namespace shardkv::kube
