#include "operator/backend/kube_objects.h"

#include <charconv>
#include <thread>

#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

constexpr std::chrono::milliseconds kPoll{250};

StatusOr<kube::Resource> ResourceOf(const Json& object) {
  const std::string kind = object.value("kind", "");
  if (kind == "StatefulSet") return kStatefulSets;
  if (kind == "Service") return kServices;
  if (kind == "PodDisruptionBudget") return kDisruptionBudgets;
  if (kind == "ConfigMap") return kConfigMaps;
  return InvalidArgument("no resource known for kind '" + kind + "'");
}

StatusOr<std::vector<Json>> ListItems(kube::KubeClient& client,
                                      const std::string& path,
                                      const std::string& selector) {
  kube::ListOptions options;
  options.label_selector = selector;
  auto list = client.ListAll(path, options);
  if (!list.ok()) return list.status();
  std::vector<Json> items;
  const Json empty = Json::array();
  const Json& listed = list->contains("items") ? (*list)["items"] : empty;
  if (!listed.is_array()) return items;
  for (const Json& item : listed) items.push_back(item);
  return items;
}

}  // namespace

Status ApplyObject(kube::KubeClient& client, const Json& object) {
  auto resource = ResourceOf(object);
  if (!resource.ok()) return resource.status();
  const Json& meta = object["metadata"];
  return client
      .Apply(kube::ResourcePath(*resource, meta.value("namespace", ""),
                                meta.value("name", "")),
             object, kFieldManager)
      .status();
}

std::string ShardSelector(const ShardedKV& kv, int shard) {
  if (shard == 0) {
    return std::string(kClusterLabel) + "=" + kv.name + "," + kRoleLabel +
           "=controller";
  }
  return std::string(kClusterLabel) + "=" + kv.name + "," + kRoleLabel +
         "=shard," + kShardLabel + "=" + std::to_string(shard);
}

StatusOr<std::vector<Json>> ListShardPods(kube::KubeClient& client,
                                          const ShardedKV& kv, int shard) {
  return ListItems(client, kube::ResourcePath(kPods, kv.ns),
                   ShardSelector(kv, shard));
}

StatusOr<std::vector<Json>> ListShardClaims(kube::KubeClient& client,
                                            const ShardedKV& kv, int shard) {
  return ListItems(client, kube::ResourcePath(kClaims, kv.ns),
                   ShardSelector(kv, shard));
}

Json IdentityConfigMap(const ShardedKV& kv, int shard, const Json& data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", shard == 0 ? ControllerIdentityName(kv)
                                : ShardIdentityName(kv, shard)},
            {"namespace", kv.ns},
            {"labels",
             {{kClusterLabel, kv.name},
              {kRoleLabel, "identity"},
              {kShardLabel, std::to_string(shard)}}},
            {"ownerReferences", Json::array({OwnerReference(kv)})}}},
          {"data", data}};
}

bool PodReady(const Json& pod) {
  if (!pod.is_object()) return false;
  const Json meta = pod.value("metadata", Json::object());
  if (meta.contains("deletionTimestamp")) return false;
  const Json status = pod.value("status", Json::object());
  for (const Json& c : status.value("conditions", Json::array())) {
    if (c.is_object() && c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

std::optional<int> PodOrdinal(const Json& pod) {
  const std::string name =
      pod.value("metadata", Json::object()).value("name", "");
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size()) return std::nullopt;
  int ordinal = 0;
  auto [end, ec] = std::from_chars(name.data() + dash + 1,
                                   name.data() + name.size(), ordinal);
  if (ec != std::errc() || end != name.data() + name.size()) {
    return std::nullopt;
  }
  return ordinal;
}

std::string PodRevision(const Json& pod) {
  const Json labels =
      pod.value("metadata", Json::object()).value("labels", Json::object());
  return labels.value(kRevisionLabel, "");
}

std::string UidOf(const Json& object) {
  return object.value("metadata", Json::object()).value("uid", "");
}

Status WaitGone(kube::KubeClient& client, const std::string& path,
                const std::string& uid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto object = client.Get(path);
    if (!object.ok() && object.status().code() == Code::kNotFound) {
      return Status::Ok();
    }
    if (object.ok() && UidOf(*object) != uid) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kDeadlineExceeded, path + " is still there");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

Status DeletePodAndWait(kube::KubeClient& client, const std::string& ns,
                        const std::string& name,
                        std::chrono::milliseconds timeout) {
  const std::string path = kube::ResourcePath(kPods, ns, name);
  auto pod = client.Get(path);
  if (!pod.ok()) {
    return pod.status().code() == Code::kNotFound ? Status::Ok() : pod.status();
  }
  Status s = client.Delete(path);
  if (!s.ok() && s.code() != Code::kNotFound) return s;
  return WaitGone(client, path, UidOf(*pod), timeout);
}

StatusOr<std::string> UpdateRevision(kube::KubeClient& client,
                                     const std::string& ns,
                                     const std::string& name,
                                     std::chrono::milliseconds timeout) {
  const std::string path = kube::ResourcePath(kStatefulSets, ns, name);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto set = client.Get(path);
    if (!set.ok()) return set.status();
    const int64_t generation =
        set->value("metadata", Json::object()).value("generation", int64_t{0});
    const Json status = set->value("status", Json::object());
    const std::string revision = status.value("updateRevision", "");
    if (status.value("observedGeneration", int64_t{0}) >= generation &&
        !revision.empty()) {
      return revision;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kDeadlineExceeded,
                    "StatefulSet " + name + " generation " +
                        std::to_string(generation) + " not yet observed");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace shardkv::op
