// What the operator saw of one cluster in one reconcile: the spec, the slot
// map (from the controller), the pods and StatefulSets (from the informers)
// and the workflow state. The input of the pure functions Decide()
// (decide.h) and ComputeStatus() (cluster_status.h), so both are tested
// without an API server.
//
// Thread-safety: plain values.
// Invariants: `shards` is sorted by id with no duplicates; it holds every
// shard of the slot map and every shard that has a StatefulSet; `pods` of a
// shard are sorted by ordinal, one per ordinal < the set's replicas.
#ifndef SHARDKV_OPERATOR_OBSERVATION_H_
#define SHARDKV_OPERATOR_OBSERVATION_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/shardedkv.h"
#include "orchestration/intent_store.h"
#include "orchestration/workflows.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::op {

using orchestration::ShardId;

struct PodObservation {
  int ordinal = 0;
  std::string name;
  bool exists = false;  // the Pod object is there
  std::string uid;      // of the Pod object; empty when none
  bool ready = false;   // its Ready condition is True
  std::string image;    // of the node container; empty when no pod
  // How long this Pod object has been seen not ready while its shard had
  // a quorum (0 when ready); kept across operator restarts
  // (status.unready).
  std::chrono::milliseconds unready_for{0};
};

struct ShardObservation {
  ShardId id = 0;
  bool in_map = false;
  bool draining = false;  // SHARD_DRAINING in the map
  uint32_t slots = 0;     // owned in the map
  bool set_exists = false;
  int replicas = 0;  // the StatefulSet's spec.replicas (0: no set)
  std::vector<PodObservation> pods;
  std::string leader_pod;  // empty when unknown
  // How long the shard has been seen without a quorum (0 when it has one).
  std::chrono::milliseconds quorum_lost_for{0};

  int ReadyReplicas() const;
  // A majority of the replicas is ready (a ready replica is in a group with
  // a leader), so the group can commit and a membership change is safe.
  bool HasQuorum() const;
};

// The workflow thread of the cluster, as the reconciler sees it.
struct WorkflowObservation {
  bool running = false;
  std::string workflow;  // of the running one
  orchestration::Progress progress;
  // The last finished workflow's outcome ("" when none or it succeeded).
  std::string last_error;
  std::string last_workflow;
  // Failed workflows in a row (0 after a success), and when the last
  // workflow ended: the reconciler backs off before retrying.
  int consecutive_failures = 0;
  std::chrono::steady_clock::time_point finished_at{};
  // The replica a running replace-replica replaces (status.replacing).
  ShardId replacing_shard = 0;
  std::string replacing_pod;
};

struct Observation {
  ShardedKV spec;
  std::string desired_image;  // spec.image or the operator's default
  std::chrono::system_clock::time_point now;

  // nullopt when the controller did not answer (map_error says why).
  std::optional<v1::SlotMap> map;
  std::string map_error;

  // The recorded workflow intent (status.workflow), if any.
  std::optional<orchestration::Intent> intent;
  WorkflowObservation workflow;

  int controller_replicas = 0;
  int controller_ready = 0;
  std::string controller_leader;  // pod name, empty when unknown
  // A controller pod runs another image than desired_image.
  bool controller_outdated = false;
  // The controller group's pods as a group (id 0, not in the map, replicas
  // = spec.controllerReplicas; replicas 0 when not observed): unready
  // clocks and quorum for replacing a controller replica.
  ShardObservation controller;

  std::vector<ShardObservation> shards;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OBSERVATION_H_
