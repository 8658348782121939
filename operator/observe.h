// Turns the informers' StatefulSets and Pods of one cluster (JSON as the
// API server returns them) and the slot map into the ShardObservations of
// observation.h. Pure but for UnreadyTracker, which remembers since when
// each pod has been seen unready. The reconciler writes those times into
// status.unready and seeds a new tracker from there, so an operator restart
// does not start the replaceAfter clock again. A pod's clock runs only while
// its shard has a quorum: without one no replica can be ready (ready = in a
// group with a leader), so the pods of a shard that lost its quorum all
// start counting again when it has one.
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
  // Counting starts again at `now` for `pod` (still unready).
  void Restart(const std::string& pod, Clock::time_point now);
  // `pod` has been unready since `since` (recorded by an earlier operator);
  // no effect when it is tracked already.
  void Seed(const std::string& pod, Clock::time_point since);
  // Forgets pods not tracked since the last call (gone shards).
  void ForgetUnseen();

 private:
  std::map<std::string, Clock::time_point> since_;
  std::map<std::string, bool> seen_;
};

// The UnreadyTracker key of a pod: its name and its Pod object's uid, so a
// new Pod object (deleted and recreated, e.g. by a replacement) starts a
// new clock, while a container restarting in the same object does not.
std::string UnreadyKey(const ShardedKV& kv, const PodObservation& pod);
std::string UnreadyKey(const ShardedKV& kv, const std::string& pod,
                       const std::string& uid);

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

// The controller group's pods (ordinals < spec.controllerReplicas) as a
// ShardObservation with id 0, their unready clocks kept like a shard's
// (running only while the group has a quorum).
ShardObservation ObserveController(const ShardedKV& kv,
                                   const std::vector<Json>& pods,
                                   UnreadyTracker& tracker,
                                   UnreadyTracker::Clock::time_point now);

// Ready replicas of the controller StatefulSet's pods.
int ControllerReadyReplicas(const ShardedKV& kv, const std::vector<Json>& pods);
// A controller pod's node container runs another image than `image`.
bool ControllerOutdated(const ShardedKV& kv, const std::vector<Json>& pods,
                        const std::string& image);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OBSERVE_H_
