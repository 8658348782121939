#include "operator/desired_objects.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace shardkv::op {
namespace {

Json Object(const Json& spec) {
  return {{"apiVersion", "shardkv.io/v1alpha1"},
          {"kind", "ShardedKV"},
          {"metadata",
           {{"name", "demo"},
            {"namespace", "prod"},
            {"uid", "uid-1"},
            {"generation", 4}}},
          {"spec", spec}};
}

ShardedKV Parse(const Json& spec) {
  StatusOr<ShardedKV> kv = ParseShardedKV(Object(spec));
  EXPECT_TRUE(kv.ok()) << kv.status().message();
  return *kv;
}

TEST(ParseShardedKVTest, AppliesTheCrdDefaults) {
  ShardedKV kv = Parse(Json::object());
  EXPECT_EQ(kv.name, "demo");
  EXPECT_EQ(kv.ns, "prod");
  EXPECT_EQ(kv.generation, 4);
  EXPECT_EQ(kv.shards, 1);
  EXPECT_EQ(kv.replicas_per_shard, 3);
  EXPECT_EQ(kv.controller_replicas, 3);
  EXPECT_EQ(kv.slot_count, 4096);
  EXPECT_EQ(kv.storage_size, "10Gi");
  EXPECT_TRUE(kv.retain_on_scale_in);
  EXPECT_EQ(kv.replace_after, std::chrono::minutes(5));
}

TEST(ParseShardedKVTest, ReadsEveryField) {
  ShardedKV kv = Parse({{"shards", 5},
                        {"replicasPerShard", 5},
                        {"controllerReplicas", 1},
                        {"slotCount", 1024},
                        {"image", "shardkv:1"},
                        {"storage",
                         {{"size", 1073741824},
                          {"storageClassName", "fast"},
                          {"retainOnScaleIn", false}}},
                        {"replaceAfter", "90s"}});
  EXPECT_EQ(kv.shards, 5);
  EXPECT_EQ(kv.replicas_per_shard, 5);
  EXPECT_EQ(kv.controller_replicas, 1);
  EXPECT_EQ(kv.slot_count, 1024);
  EXPECT_EQ(kv.image, "shardkv:1");
  EXPECT_EQ(kv.storage_size, "1073741824");
  EXPECT_EQ(kv.storage_class, "fast");
  EXPECT_FALSE(kv.retain_on_scale_in);
  EXPECT_EQ(kv.replace_after, std::chrono::seconds(90));
}

TEST(ParseShardedKVTest, RejectsWhatTheCrdRejects) {
  for (const Json& spec :
       {Json{{"shards", 0}}, Json{{"replicasPerShard", 2}},
        Json{{"controllerReplicas", 0}}, Json{{"slotCount", 1000}},
        Json{{"slotCount", 131072}}, Json{{"shards", 9}, {"slotCount", 8}},
        Json{{"shards", "three"}}, Json{{"replaceAfter", "soon"}}}) {
    StatusOr<ShardedKV> kv = ParseShardedKV(Object(spec));
    EXPECT_EQ(kv.status().code(), Code::kInvalidArgument) << spec.dump();
    EXPECT_NE(kv.status().message().find("prod/demo"), std::string::npos)
        << kv.status().message();
  }
  Json not_ours = Object(Json::object());
  not_ours["kind"] = "ConfigMap";
  EXPECT_FALSE(ParseShardedKV(not_ours).ok());
  EXPECT_FALSE(ParseShardedKV(Json::array()).ok());
}

TEST(DesiredObjectsTest, OneSetServiceAndBudgetPerShardAllOwned) {
  ShardedKV kv = Parse({{"shards", 3}});
  std::vector<Json> objects = DesiredObjects(kv, "shardkv:default");
  std::map<std::string, int> kinds;
  for (const Json& o : objects) {
    kinds[o["kind"]]++;
    const Json& owner = o["metadata"]["ownerReferences"][0];
    EXPECT_EQ(owner["uid"], "uid-1") << o["metadata"]["name"];
    EXPECT_EQ(owner["kind"], "ShardedKV");
    EXPECT_EQ(owner["controller"], true);
    EXPECT_EQ(o["metadata"]["namespace"], "prod");
    EXPECT_EQ(o["metadata"]["labels"][kClusterLabel], "demo");
  }
  EXPECT_EQ(kinds["StatefulSet"], 4);  // controller + 3 shards
  EXPECT_EQ(kinds["Service"], 5);      // 4 headless + client
  EXPECT_EQ(kinds["PodDisruptionBudget"], 3);
  EXPECT_EQ(objects.size(), 12u);
  std::set<std::string> names;
  for (const Json& o : objects) names.insert(o["metadata"]["name"]);
  EXPECT_TRUE(names.count("demo-shard-1") && names.count("demo-shard-3"));
  EXPECT_FALSE(names.count("demo-shard-0"));  // shard ids are 1..N
  // Pure: the same spec gives byte-identical intents.
  std::vector<Json> again = DesiredObjects(kv, "shardkv:default");
  for (size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(objects[i].dump(), again[i].dump());
  }
}

TEST(DesiredObjectsTest, ShardStatefulSetRunsTheShardsRaftGroup) {
  ShardedKV kv = Parse({{"shards", 3}, {"storage", {{"size", "5Gi"}}}});
  Json sts = ShardStatefulSet(kv, 2, "shardkv:default");
  EXPECT_EQ(sts["metadata"]["name"], "demo-shard-2");
  const Json& spec = sts["spec"];
  EXPECT_EQ(spec["replicas"], 3);
  EXPECT_EQ(spec["serviceName"], "demo-shard-2");
  EXPECT_EQ(spec["podManagementPolicy"], "Parallel");
  EXPECT_EQ(spec["updateStrategy"]["type"], "OnDelete");
  for (const auto& [key, value] : spec["selector"]["matchLabels"].items()) {
    EXPECT_EQ(spec["template"]["metadata"]["labels"][key], value) << key;
  }
  const Json& container = spec["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "shardkv:default");
  const std::string script = container["command"][2];
  for (const char* part :
       {"--role shard", "--shard-id 2", "--id \"$id\"",
        "members='--peers 1=demo-shard-2-0.demo-shard-2.prod.svc:7001,"
        "2=demo-shard-2-1.demo-shard-2.prod.svc:7001,"
        "3=demo-shard-2-2.demo-shard-2.prod.svc:7001'",
        "1) address='demo-shard-2-1.demo-shard-2.prod.svc:7001' ;;",
        "record=/etc/shardkv/identity",
        "--controller demo-controller-0.demo-controller.prod.svc:7001,"
        "demo-controller-1.demo-controller.prod.svc:7001,"
        "demo-controller-2.demo-controller.prod.svc:7001",
        "--cluster-id 'prod.demo'"}) {
    EXPECT_NE(script.find(part), std::string::npos) << part << "\n" << script;
  }
  // The identity record is mounted where the script reads it.
  const Json& volume = spec["template"]["spec"]["volumes"][0];
  EXPECT_EQ(volume["configMap"]["name"], "demo-shard-2-identity");
  EXPECT_EQ(container["volumeMounts"][1]["name"], volume["name"]);
  EXPECT_EQ(container["volumeMounts"][1]["mountPath"], "/etc/shardkv/identity");
  const Json& claim = spec["volumeClaimTemplates"][0];
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "5Gi");
  EXPECT_FALSE(claim["spec"].contains("storageClassName"));
}

TEST(DesiredObjectsTest, ControllerSetCarriesTheSlotCount) {
  ShardedKV kv = Parse({{"slotCount", 256}, {"controllerReplicas", 1}});
  Json sts = ControllerStatefulSet(kv, "img");
  EXPECT_EQ(sts["spec"]["replicas"], 1);
  const std::string script =
      sts["spec"]["template"]["spec"]["containers"][0]["command"][2];
  EXPECT_NE(script.find("--role controller --slot-count 256"),
            std::string::npos);
  EXPECT_NE(script.find("--peers 1=demo-controller-0.demo-controller.prod"),
            std::string::npos);
  // Its Raft ids come from the group's identity record.
  const Json& pod = sts["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"], "demo-controller-identity");
  EXPECT_EQ(pod["containers"][0]["volumeMounts"][1]["mountPath"],
            "/etc/shardkv/identity");
  EXPECT_NE(script.find("has run before"), std::string::npos);
}

TEST(DesiredObjectsTest, PodTemplateOverridesMergeButKeepOurSelectors) {
  ShardedKV kv = Parse(
      {{"image", "mine:2"},
       {"podTemplate",
        {{"metadata",
          {{"labels", {{"team", "kv"}, {"shardkv.io/shard", "9"}}},
           {"annotations", {{"a", "b"}}}}},
         {"nodeSelector", {{"disk", "ssd"}}},
         {"tolerations", {{{"key", "dedicated"}, {"operator", "Exists"}}}},
         {"env", {{{"name", "EXTRA"}, {"value", "1"}}}}}}});
  Json pod = ShardStatefulSet(kv, 1, "default")["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["labels"]["team"], "kv");
  EXPECT_EQ(pod["metadata"]["labels"]["shardkv.io/shard"], "1");
  EXPECT_EQ(pod["metadata"]["annotations"]["a"], "b");
  EXPECT_EQ(pod["spec"]["nodeSelector"]["disk"], "ssd");
  EXPECT_EQ(pod["spec"]["tolerations"][0]["key"], "dedicated");
  const Json& container = pod["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "mine:2");
  EXPECT_EQ(container["env"].back()["name"], "EXTRA");
  EXPECT_EQ(container["env"][0]["name"], "POD_NAME");
}

TEST(DesiredObjectsTest, BudgetAndServices) {
  ShardedKV kv = Parse({{"shards", 2}});
  Json pdb = ShardDisruptionBudget(kv, 1);
  EXPECT_EQ(pdb["spec"]["maxUnavailable"], 1);
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["shardkv.io/shard"], "1");
  Json headless = ShardService(kv, 1);
  EXPECT_EQ(headless["spec"]["clusterIP"], "None");
  EXPECT_EQ(headless["spec"]["publishNotReadyAddresses"], true);
  Json client = ClientService(kv);
  EXPECT_EQ(client["metadata"]["name"], "demo-client");
  EXPECT_EQ(client["spec"]["ports"][0]["port"], kNodePort);
  EXPECT_EQ(NodeSelector(kv), "shardkv.io/cluster=demo");
}

}  // namespace
}  // namespace shardkv::op
