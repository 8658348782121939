// Kubernetes object helpers of the backend (internal to operator/backend):
// resource paths, server-side apply of desired objects, listing a shard's
// pods and claims, pod readiness and revision, deletions that wait.
//
// Thread-safety: free functions over a thread-safe KubeClient.
#ifndef SHARDKV_OPERATOR_BACKEND_KUBE_OBJECTS_H_
#define SHARDKV_OPERATOR_BACKEND_KUBE_OBJECTS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/shardedkv.h"

namespace shardkv::op {

inline const kube::Resource kConfigMaps{"", "v1", "configmaps", true};
inline const kube::Resource kPods{"", "v1", "pods", true};
inline const kube::Resource kServices{"", "v1", "services", true};
inline const kube::Resource kClaims{"", "v1", "persistentvolumeclaims", true};
inline const kube::Resource kStatefulSets{"apps", "v1", "statefulsets", true};
inline const kube::Resource kDisruptionBudgets{"policy", "v1",
                                               "poddisruptionbudgets", true};

// The label the StatefulSet controller puts on each pod: the revision of
// the template it was made from.
inline constexpr char kRevisionLabel[] = "controller-revision-hash";

// Server-side apply of a desired object (desired_objects.h) with the
// operator's field manager.
Status ApplyObject(kube::KubeClient& client, const Json& object);

// "shardkv.io/cluster=demo,shardkv.io/role=shard,shardkv.io/shard=2";
// shard 0 is the controller group ("...,shardkv.io/role=controller").
std::string ShardSelector(const ShardedKV& kv, int shard);
StatusOr<std::vector<Json>> ListShardPods(kube::KubeClient& client,
                                          const ShardedKV& kv, int shard);
StatusOr<std::vector<Json>> ListShardClaims(kube::KubeClient& client,
                                            const ShardedKV& kv, int shard);

// The shard's identity record as a ConfigMap owned by the ShardedKV; shard
// 0 is the controller group's.
Json IdentityConfigMap(const ShardedKV& kv, int shard, const Json& data);

// Ready condition True and not being deleted.
bool PodReady(const Json& pod);
// 2 for "demo-shard-1-2"; nullopt for a name without an ordinal.
std::optional<int> PodOrdinal(const Json& pod);
std::string PodRevision(const Json& pod);
std::string UidOf(const Json& object);

// Waits until `path` is gone or holds an object with another uid.
Status WaitGone(kube::KubeClient& client, const std::string& path,
                const std::string& uid, std::chrono::milliseconds timeout);
// Deletes pod `name` (OK when absent) and waits until that pod is gone.
Status DeletePodAndWait(kube::KubeClient& client, const std::string& ns,
                        const std::string& name,
                        std::chrono::milliseconds timeout);
// The StatefulSet's status.updateRevision once its controller has seen
// the set's current generation.
StatusOr<std::string> UpdateRevision(kube::KubeClient& client,
                                     const std::string& ns,
                                     const std::string& name,
                                     std::chrono::milliseconds timeout);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_KUBE_OBJECTS_H_
