// Turns the informers' StatefulSets and Pods of one cluster (JSON as the
// API server returns them) and the slot map into the ShardObservations of
// observation.h. Pure but for UnreadyTracker, which remembers since when
// each pod has been seen unready (on this process's clock: an operator that
// restarts starts counting again, which only delays a replacement).
//
// Thread-safety: functions are pure; an UnreadyTracker is used by one
// thread (the reconcile thread).
#ifndef SHARDKV_OPERATOR_OBSERVE_H_
#define SHARDKV_OPERATOR_OBSERVE_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "operator/observation.h"

namespace shardkv::op {

class UnreadyTracker {
 public:
  using Clock = std::chrono::steady_clock;
  // How long `pod` has been unready as of `now` (0 when ready; the first
  // unready sighting counts as 0).
  std::chrono::milliseconds Track(const std::string& pod, bool ready,
                                  Clock::time_point now);
  // Forgets pods not tracked since the last call (gone shards).
  void ForgetUnseen();

 private:
  std::map<std::string, Clock::time_point> since_;
  std::map<std::string, bool> seen_;
};

// The Ready condition of a Pod object is True.
bool IsPodReady(const Json& pod);
// The image of the pod's "node" container (or its first), "" if none.
std::string NodeImageOf(const Json& pod);

// One entry per shard of `map` (may be null) and per shard StatefulSet in
// `sets`, sorted by id. `sets` and `pods` must be the cluster's (label
// shardkv.io/cluster=<name>, same namespace).
std::vector<ShardObservation> ObserveShards(
    const ShardedKV& kv, const std::vector<Json>& sets,
    const std::vector<Json>& pods, const v1::SlotMap* map,
    UnreadyTracker& tracker, UnreadyTracker::Clock::time_point now);

// Ready replicas of the controller StatefulSet's pods.
int ControllerReadyReplicas(const ShardedKV& kv, const std::vector<Json>& pods);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OBSERVE_H_
