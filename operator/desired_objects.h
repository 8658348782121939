// The Kubernetes objects a ShardedKV should have, as pure functions of its
// spec (the "compute desired" step of observe -> compute -> apply): the
// controller group's StatefulSet and headless Service; per shard a
// StatefulSet, a headless Service and a PodDisruptionBudget; a client
// Service. Each object is a full server-side-apply intent (apiVersion, kind,
// metadata with labels and an owner reference to the ShardedKV), so applying
// it twice changes nothing.
//
// Choices that matter:
// - podManagementPolicy Parallel: a Raft group's pods must start together;
//   OrderedReady would wait for pod 0 to be ready, which needs a quorum.
// - updateStrategy OnDelete: the operator restarts pods itself, one at a
//   time, after moving leadership away (rolling upgrade).
// - PVC retention Retain on both scale and delete: the operator, not the
//   StatefulSet controller, decides when a disk may go (retainOnScaleIn).
// - headless Services publish not-ready addresses, so peers resolve each
//   other before the group has a leader.
// - a replica's Raft id is read, when the pod starts, from its group's
//   identity record (the ConfigMap ShardIdentityName, or for the
//   controller group ControllerIdentityName; written by
//   operator/backend/kube_infrastructure.h, which explains the scheme):
//   initial ids are ordinal + 1, a replaced replica gets a new id. The pod
//   script keeps "<incarnation> <id>" in the data dir and refuses to start
//   on a disk of another identity, or on an empty disk under an id that has
//   run before (its disk was lost). A controller disk with data but no
//   identity file (written before controller records existed) is adopted
//   when its ordinal still runs its initial id.
// - addresses come from a PodAddresses (DNS names in a cluster; loopback in
//   tests); the node listens on $SHARDKV_LISTEN when set (tests that run
//   pods as local processes), else 0.0.0.0:7001.
// - shard ids are 1..N (0 is reserved by the orchestration).
//
// Thread-safety: pure functions.
#ifndef SHARDKV_OPERATOR_DESIRED_OBJECTS_H_
#define SHARDKV_OPERATOR_DESIRED_OBJECTS_H_

#include <string>
#include <vector>

#include "operator/backend/pod_addresses.h"
#include "operator/shardedkv.h"

namespace shardkv::op {

inline constexpr char kFieldManager[] = "shardkv-operator";
inline constexpr char kClusterLabel[] = "shardkv.io/cluster";
inline constexpr char kRoleLabel[] = "shardkv.io/role";
inline constexpr char kShardLabel[] = "shardkv.io/shard";
inline constexpr char kDataVolume[] = "data";
inline constexpr char kDataPath[] = "/var/lib/shardkv";
inline constexpr char kIdentityVolume[] = "identity";
inline constexpr char kIdentityPath[] = "/etc/shardkv/identity";

std::string ControllerSetName(const ShardedKV& kv);        // demo-controller
std::string ShardSetName(const ShardedKV& kv, int shard);  // demo-shard-2
std::string ClientServiceName(const ShardedKV& kv);        // demo-client
// The shard's identity record (ConfigMap): "demo-shard-2-identity".
std::string ShardIdentityName(const ShardedKV& kv, int shard);
// The controller group's identity record: "demo-controller-identity".
std::string ControllerIdentityName(const ShardedKV& kv);
// "demo-shard-2-1.demo-shard-2.ns.svc:7001": the stable address of one pod.
std::string PodAddress(const ShardedKV& kv, const std::string& set_name,
                       int ordinal);

// Label selector of every node pod ("shardkv.io/cluster=demo"), the value of
// status.selector for the scale subresource.
std::string NodeSelector(const ShardedKV& kv);

Json OwnerReference(const ShardedKV& kv);

// The forms without PodAddresses use DnsPodAddresses.
Json ControllerStatefulSet(const ShardedKV& kv,
                           const std::string& default_image);
Json ControllerStatefulSet(const ShardedKV& kv,
                           const std::string& default_image,
                           const PodAddresses& addresses);
Json ControllerService(const ShardedKV& kv);
Json ShardStatefulSet(const ShardedKV& kv, int shard,
                      const std::string& default_image);
Json ShardStatefulSet(const ShardedKV& kv, int shard,
                      const std::string& default_image,
                      const PodAddresses& addresses);
Json ShardService(const ShardedKV& kv, int shard);
Json ShardDisruptionBudget(const ShardedKV& kv, int shard);
Json ClientService(const ShardedKV& kv);

// Everything for shards 1..kv.shards, controller objects first.
std::vector<Json> DesiredObjects(const ShardedKV& kv,
                                 const std::string& default_image);
std::vector<Json> DesiredObjects(const ShardedKV& kv,
                                 const std::string& default_image,
                                 const PodAddresses& addresses);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_DESIRED_OBJECTS_H_
