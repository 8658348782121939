#include "operator/decide.h"

#include <algorithm>

namespace shardkv::op {
namespace {

Decision Make(Action action, std::string reason) {
  Decision d;
  d.action = action;
  d.reason = std::move(reason);
  return d;
}

std::string IdList(const std::vector<ShardId>& ids) {
  return orchestration::FormatIds(ids);
}

// The controller group's part of rule 5: a controller replica due for
// replacement in a group with a quorum (kReplaceReplica, shard 0), one
// that cannot be replaced (kWait, replacement_blocked: the group lost its
// quorum, or has a single replica, which no membership change can replace:
// without it there is no group to add a new member to), or kNone.
Decision ControllerReplacement(const Observation& o) {
  const ShardObservation& group = o.controller;
  const PodObservation* due = nullptr;
  std::string blocked;
  for (const PodObservation& pod : group.pods) {
    if (pod.ready) continue;
    const auto unready = std::max(pod.unready_for, group.quorum_lost_for);
    if (group.replicas == 1) {
      if (unready >= o.spec.replace_after) {
        blocked = "the controller group has a single replica: pod " + pod.name +
                  " cannot be replaced (a one-member Raft group has no "
                  "quorum without it); bring its disk back, and run 3 "
                  "controller replicas to have replacement";
      }
      continue;
    }
    if (!group.HasQuorum()) {
      if (unready >= o.spec.replace_after) {
        blocked = "the controller group has lost its quorum (" +
                  std::to_string(group.ReadyReplicas()) + " of " +
                  std::to_string(group.replicas) + " replicas ready): pod " +
                  pod.name + " is not replaced until a majority is ready again";
      }
      continue;
    }
    if (pod.unready_for < o.spec.replace_after) continue;
    if (due == nullptr || pod.unready_for > due->unready_for) due = &pod;
  }
  if (due != nullptr) {
    Decision d =
        Make(Action::kReplaceReplica,
             "controller pod " + due->name + " has not been ready for " +
                 std::to_string(due->unready_for.count() / 1000) + "s");
    d.shard = 0;
    d.ordinal = due->ordinal;
    d.unready_for = due->unready_for;
    return d;
  }
  if (!blocked.empty()) {
    Decision d = Make(Action::kWait, blocked);
    d.replacement_blocked = true;
    return d;
  }
  return Make(Action::kNone, "");
}

// Rule 5: the replica unready the longest among those past replaceAfter,
// skipping shards without a quorum (a replacement is a membership change,
// which needs one; and a shard without a quorum is an outage to look at,
// not a disk to swap).
Decision ReplacementDecision(const Observation& o) {
  const ShardObservation* best_shard = nullptr;
  const PodObservation* best_pod = nullptr;
  std::string blocked;
  for (const ShardObservation& shard : o.shards) {
    if (!shard.in_map || !shard.set_exists) continue;
    for (const PodObservation& pod : shard.pods) {
      if (pod.ready) continue;
      if (!shard.HasQuorum()) {
        if (std::max(pod.unready_for, shard.quorum_lost_for) >=
            o.spec.replace_after) {
          blocked =
              "shard " + std::to_string(shard.id) + " has lost its quorum (" +
              std::to_string(shard.ReadyReplicas()) + " of " +
              std::to_string(shard.replicas) + " replicas ready): pod " +
              pod.name + " is not replaced until a majority is ready again";
        }
        continue;
      }
      if (pod.unready_for < o.spec.replace_after) continue;
      if (best_pod == nullptr || pod.unready_for > best_pod->unready_for) {
        best_shard = &shard;
        best_pod = &pod;
      }
    }
  }
  // One replacement at a time in the whole cluster: the longest unready
  // replica first, the controller group's included.
  Decision controller = ControllerReplacement(o);
  if (controller.action == Action::kReplaceReplica &&
      (best_pod == nullptr || controller.unready_for > best_pod->unready_for)) {
    return controller;
  }
  if (best_pod != nullptr) {
    Decision d =
        Make(Action::kReplaceReplica,
             "pod " + best_pod->name + " has not been ready for " +
                 std::to_string(best_pod->unready_for.count() / 1000) + "s");
    d.shard = best_shard->id;
    d.ordinal = best_pod->ordinal;
    d.unready_for = best_pod->unready_for;
    return d;
  }
  if (controller.action == Action::kWait) return controller;
  if (!blocked.empty()) {
    Decision d = Make(Action::kWait, blocked);
    d.replacement_blocked = true;
    return d;
  }
  return Make(Action::kNone, "");
}

Decision ScaleDecision(const Observation& o, const std::vector<ShardId>& ids) {
  const int have = static_cast<int>(ids.size());
  const int want = o.spec.shards;
  if (want > have) {
    Decision d = Make(Action::kScaleOut, "");
    ShardId next = ids.empty() ? 1 : ids.back() + 1;
    for (int i = have; i < want; ++i) d.shards.push_back(next++);
    d.reason = "spec.shards is " + std::to_string(want) + ", the map has " +
               std::to_string(have) + ": adding shards " + IdList(d.shards);
    return d;
  }
  if (want < have) {
    Decision d = Make(Action::kScaleIn, "");
    d.shards.assign(ids.end() - (have - want), ids.end());
    d.reason = "spec.shards is " + std::to_string(want) + ", the map has " +
               std::to_string(have) + ": draining shards " + IdList(d.shards);
    return d;
  }
  return Make(Action::kNone, "");
}

Decision UpgradeDecision(const Observation& o) {
  Decision d = Make(Action::kRollingUpgrade, "");
  std::string unready;
  for (const ShardObservation& shard : o.shards) {
    if (!shard.in_map) continue;
    bool stale = false;
    for (const PodObservation& pod : shard.pods) {
      if (!pod.ready && unready.empty()) unready = pod.name;
      stale = stale || (pod.exists && pod.image != o.desired_image);
    }
    if (stale) d.shards.push_back(shard.id);
  }
  // The controller group (id 0 to the workflow) goes first.
  if (o.controller_outdated) {
    d.shards.insert(d.shards.begin(), 0);
    if (o.controller_ready < o.controller_replicas && unready.empty()) {
      unready = "of the controller group";
    }
  }
  if (d.shards.empty()) return Make(Action::kNone, "");
  if (!unready.empty()) {
    return Make(Action::kWait, "pod " + unready +
                                   " is not ready: the rolling upgrade "
                                   "waits until every replica is");
  }
  std::vector<ShardId> shards = d.shards;
  if (o.controller_outdated) shards.erase(shards.begin());
  d.reason = "image " + o.desired_image + " differs from the pods' of " +
             std::string(o.controller_outdated ? "the controller group" : "") +
             (o.controller_outdated && !shards.empty() ? " and " : "") +
             (shards.empty() ? "" : "shards " + IdList(shards));
  return d;
}

}  // namespace

const char* ActionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "None";
    case Action::kWait:
      return "Wait";
    case Action::kResume:
      return "Resume";
    case Action::kBootstrap:
      return "Bootstrap";
    case Action::kScaleOut:
      return "ScaleOut";
    case Action::kScaleIn:
      return "ScaleIn";
    case Action::kReplaceReplica:
      return "ReplaceReplica";
    case Action::kRollingUpgrade:
      return "RollingUpgrade";
  }
  return "Unknown";
}

std::vector<ShardId> MapShardIds(const v1::SlotMap& map) {
  std::vector<ShardId> ids;
  for (const v1::Shard& s : map.shards()) ids.push_back(s.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

Decision Decide(const Observation& o) {
  if (o.workflow.running) {
    return Make(Action::kNone, "a " + o.workflow.workflow + " is running");
  }
  if (o.intent.has_value()) {
    return Make(Action::kResume, "resuming the recorded " + o.intent->workflow +
                                     " at step " + o.intent->step);
  }
  if (!o.map.has_value()) {
    // Nothing is decided blind, but a controller group that cannot serve
    // the map and cannot get a replacement either says why.
    Decision controller = ControllerReplacement(o);
    if (controller.action == Action::kWait) {
      controller.reason +=
          " (the controller did not answer: " + o.map_error + ")";
      return controller;
    }
    return Make(Action::kWait, "the controller did not answer: " + o.map_error);
  }
  const std::vector<ShardId> ids = MapShardIds(*o.map);
  if (ids.empty()) {
    Decision d = Make(Action::kBootstrap, "");
    for (int i = 1; i <= o.spec.shards; ++i) d.shards.push_back(i);
    d.reason = "new cluster: creating shards " + IdList(d.shards);
    return d;
  }
  Decision replace = ReplacementDecision(o);
  if (replace.action == Action::kReplaceReplica) return replace;
  Decision scale = ScaleDecision(o, ids);
  if (scale.action != Action::kNone) return scale;
  if (replace.action == Action::kWait) return replace;
  return UpgradeDecision(o);
}

bool ScaleInCancelWanted(const Observation& o,
                         const std::vector<ShardId>& leaving) {
  if (!o.map.has_value()) return false;  // decide nothing blind
  int staying = 0;
  for (const v1::Shard& s : o.map->shards()) {
    if (std::count(leaving.begin(), leaving.end(), s.id()) == 0) ++staying;
  }
  return o.spec.shards > staying;
}

int ShardObservation::ReadyReplicas() const {
  return static_cast<int>(
      std::count_if(pods.begin(), pods.end(),
                    [](const PodObservation& p) { return p.ready; }));
}

bool ShardObservation::HasQuorum() const {
  return replicas > 0 && ReadyReplicas() >= replicas / 2 + 1;
}

}  // namespace shardkv::op
