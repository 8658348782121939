// Which workflow a cluster needs next, as a pure function of what the
// reconciler observed (observation.h). The order of the rules is the
// policy:
//   1. a workflow is running: nothing new (one workflow per cluster);
//   2. a recorded intent resumes first (an operator killed mid-workflow);
//   3. the controller did not answer: wait (nothing is decided blind; the
//      reason says so when its group lost its quorum or is a single
//      replica down for replaceAfter, replacement_blocked);
//   4. an empty slot map: bootstrap = scale-out of shards 1..spec.shards;
//   5. a replica unready for longer than spec.replaceAfter, in a shard or
//      the controller group (shard 0) that still has a quorum: replace it
//      (the longest-unready one first); a group without a quorum for
//      replaceAfter, or a controller group of one replica whose pod is
//      down that long: wait, replacement_blocked;
//   6. spec.shards above the map's shards: scale-out with the next ids;
//   7. spec.shards below: scale-in of the highest ids;
//   8. pods on another image than desired, every shard fully ready:
//      rolling upgrade (the controller group first, as "shard" 0).
// Scale-in stays cancellable while it drains: ScaleInCancelWanted says
// whether the spec no longer asks for it.
//
// Thread-safety: pure functions.
#ifndef SHARDKV_OPERATOR_DECIDE_H_
#define SHARDKV_OPERATOR_DECIDE_H_

#include <chrono>
#include <string>
#include <vector>

#include "operator/observation.h"

namespace shardkv::op {

enum class Action {
  kNone,            // nothing to do (or a workflow is running)
  kWait,            // something to do, but not now (see reason)
  kResume,          // run the recorded intent to its end
  kBootstrap,       // ScaleOut(shards) on an empty map
  kScaleOut,        // ScaleOut(shards)
  kScaleIn,         // ScaleIn(shards)
  kReplaceReplica,  // ReplaceReplica(shard, replica at ordinal)
  kRollingUpgrade,  // restart shards' pods on the desired image
};

const char* ActionName(Action action);

struct Decision {
  Action action = Action::kNone;
  std::vector<ShardId> shards;  // scale-out/in, upgrade
  ShardId shard = 0;            // replace-replica (0: the controller group)
  int ordinal = -1;             // replace-replica: the pod to replace
  std::chrono::milliseconds unready_for{0};  // replace-replica: of that pod
  std::string reason;  // for events, logs and status messages
  // kWait: a replica is due for replacement but its shard lacks a quorum.
  bool replacement_blocked = false;

  bool StartsWorkflow() const {
    return action != Action::kNone && action != Action::kWait;
  }
};

Decision Decide(const Observation& observation);

// True when a recorded scale-in of `leaving` should be cancelled because
// spec.shards asks for more shards than would be left after it.
bool ScaleInCancelWanted(const Observation& observation,
                         const std::vector<ShardId>& leaving);

// The shard ids of the map (any state), sorted.
std::vector<ShardId> MapShardIds(const v1::SlotMap& map);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_DECIDE_H_
