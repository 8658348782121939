#include "operator/cluster_status.h"

#include <map>
#include <vector>

#include "operator/desired_objects.h"
#include "operator/kube/timestamps.h"

namespace shardkv::op {
namespace {

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;
  std::string message;
};

// Keeps the previous lastTransitionTime when the status did not change.
Json ConditionJson(const Condition& c, const Json& previous, int64_t generation,
                   const std::string& now) {
  const std::string status = c.status ? "True" : "False";
  std::string since = now;
  const Json* old = FindCondition(previous, c.type);
  if (old != nullptr && old->value("status", "") == status &&
      old->contains("lastTransitionTime")) {
    since = (*old)["lastTransitionTime"].get<std::string>();
  }
  return {{"type", c.type},
          {"status", status},
          {"observedGeneration", generation},
          {"lastTransitionTime", since},
          {"reason", c.reason},
          {"message", c.message}};
}

std::string WorkflowReason(const std::string& workflow) {
  if (workflow == orchestration::kScaleOut) return "ScaleOut";
  if (workflow == orchestration::kScaleIn) return "ScaleIn";
  if (workflow == orchestration::kReplaceReplica) return "ReplaceReplica";
  return "RollingUpgrade";
}

bool IsScaling(const std::string& workflow) {
  return workflow == orchestration::kScaleOut ||
         workflow == orchestration::kScaleIn;
}

// The workflow running or recorded ("" when none).
std::string ActiveWorkflow(const Observation& o) {
  if (o.workflow.running) return o.workflow.workflow;
  if (o.intent.has_value()) return o.intent->workflow;
  return "";
}

Condition Available(const Observation& o) {
  if (!o.map.has_value()) {
    return {"Available", false, "ControllerUnavailable", o.map_error};
  }
  if (o.map->shards_size() == 0) {
    return {"Available", false, "Bootstrapping", "no shard is in the map yet"};
  }
  for (const ShardObservation& s : o.shards) {
    if (s.in_map && !s.HasQuorum()) {
      return {"Available", false, "ShardWithoutQuorum",
              "shard " + std::to_string(s.id) + " has " +
                  std::to_string(s.ReadyReplicas()) + " of " +
                  std::to_string(s.replicas) + " replicas ready"};
    }
  }
  for (uint32_t owner : o.map->slot_owner()) {
    if (owner == 0) {
      return {"Available", false, "SlotsUnassigned",
              "some slots have no shard yet"};
    }
  }
  return {"Available", true, "AllShardsServing",
          std::to_string(o.map->shards_size()) + " shards serve " +
              std::to_string(o.map->slot_count()) + " slots"};
}

Condition Progressing(const Observation& o, const Decision& d) {
  const std::string active = ActiveWorkflow(o);
  if (!active.empty()) {
    std::string step =
        o.workflow.running ? o.workflow.progress.step : o.intent->step;
    return {"Progressing", true, WorkflowReason(active),
            active + " at step " + step};
  }
  if (d.StartsWorkflow()) {
    return {"Progressing", true, ActionName(d.action), d.reason};
  }
  if (d.action == Action::kWait) {
    return {"Progressing", false, "Waiting", d.reason};
  }
  return {"Progressing", false, "Reconciled", "the cluster matches its spec"};
}

Condition Degraded(const Observation& o) {
  if (!o.workflow.running && !o.workflow.last_error.empty()) {
    return {"Degraded", true, "WorkflowFailed",
            o.workflow.last_workflow + " failed: " + o.workflow.last_error};
  }
  if (!o.map.has_value()) {
    return {"Degraded", true, "ControllerUnavailable", o.map_error};
  }
  std::string unready;
  for (const ShardObservation& s : o.shards) {
    if (!s.in_map) continue;
    for (const PodObservation& p : s.pods) {
      if (!p.ready) unready += (unready.empty() ? "" : ", ") + p.name;
    }
  }
  if (!unready.empty()) {
    return {"Degraded", true, "ReplicasNotReady", "not ready: " + unready};
  }
  if (o.controller_ready < o.controller_replicas) {
    return {"Degraded", true, "ControllerReplicasNotReady",
            std::to_string(o.controller_ready) + " of " +
                std::to_string(o.controller_replicas) +
                " controller replicas ready"};
  }
  return {"Degraded", false, "AllReplicasReady", "every replica is ready"};
}

Condition Migrating(const Observation& o) {
  if (!o.map.has_value()) {
    return {"Migrating", false, "Unknown", "the controller did not answer"};
  }
  const int in_flight = o.map->migrations_size();
  if (in_flight > 0 || o.map->rebalancing()) {
    return {"Migrating", true, "SlotsMoving",
            std::to_string(in_flight) + " slot migrations in flight"};
  }
  return {"Migrating", false, "NoMigration", "no slot is moving"};
}

Condition Replacing(const Observation& o) {
  if (ActiveWorkflow(o) == orchestration::kReplaceReplica) {
    const bool controller =
        o.workflow.replacing_shard == 0 && !o.workflow.replacing_pod.empty();
    std::string what = o.workflow.replacing_pod.empty()
                           ? "a replica"
                           : (controller ? "controller pod " : "pod ") +
                                 o.workflow.replacing_pod;
    return {"ReplacingReplica", true, "ReplaceReplica",
            what + " is being replaced under a new Raft identity"};
  }
  return {"ReplacingReplica", false, "NoReplacement",
          "no replica is being replaced"};
}

std::string Phase(const Observation& o, const Json& previous,
                  const Condition& degraded) {
  const std::string active = ActiveWorkflow(o);
  const std::string before = previous.value("phase", "");
  const bool bootstrapped = o.map.has_value()
                                ? o.map->shards_size() > 0
                                : before != "Creating" && !before.empty();
  if (!bootstrapped || ((before.empty() || before == "Creating") &&
                        active == orchestration::kScaleOut)) {
    return "Creating";
  }
  if (IsScaling(active)) return "Scaling";
  if (!active.empty() && active != orchestration::kReplaceReplica) {
    return "Upgrading";
  }
  if (degraded.reason == "WorkflowFailed") return "Failed";
  if (degraded.status) return "Degraded";
  return "Running";
}

Json ShardStatuses(const Observation& o) {
  Json list = Json::array();
  for (const ShardObservation& s : o.shards) {
    std::string state = "Joining";
    if (s.in_map) state = s.draining ? "Draining" : "Active";
    if (s.in_map && !s.draining && s.slots == 0) state = "Joining";
    list.push_back({{"id", s.id},
                    {"replicas", s.replicas},
                    {"readyReplicas", s.ReadyReplicas()},
                    {"leader", s.leader_pod},
                    {"slots", s.slots},
                    {"state", state}});
  }
  return list;
}

void AddMigration(const Observation& o, const Json& previous,
                  const std::string& now, Json& status) {
  const bool moving = o.map.has_value() &&
                      (o.map->migrations_size() > 0 || o.map->rebalancing());
  const orchestration::Progress& p = o.workflow.progress;
  const bool workflow_moves = o.workflow.running && p.slots_total > 0;
  if (!moving && !workflow_moves) return;
  Json migration;
  migration["slotsInFlight"] = o.map.has_value()
                                   ? o.map->migrations_size()
                                   : static_cast<int>(p.in_flight);
  if (workflow_moves) {
    migration["slotsToMove"] = p.slots_total;
    migration["slotsMoved"] = p.slots_moved;
  }
  std::string started = now;
  if (previous.contains("migration") &&
      previous["migration"].contains("startedAt")) {
    started = previous["migration"]["startedAt"].get<std::string>();
  }
  migration["startedAt"] = started;
  status["migration"] = migration;
}

void AddReplacing(const Observation& o, const Json& previous,
                  const std::string& now, Json& status) {
  if (ActiveWorkflow(o) != orchestration::kReplaceReplica) return;
  std::string since = now;
  if (previous.contains("replacing") &&
      previous["replacing"].contains("since")) {
    since = previous["replacing"]["since"].get<std::string>();
  }
  Json replacing = {{"since", since}};
  if (o.workflow.replacing_shard != 0) {
    replacing["shard"] = o.workflow.replacing_shard;
    replacing["group"] = "shard";
  }
  if (!o.workflow.replacing_pod.empty()) {
    replacing["pod"] = o.workflow.replacing_pod;
    // Shard 0 is the controller group.
    if (o.workflow.replacing_shard == 0) replacing["group"] = "controller";
  }
  status["replacing"] = replacing;
}

// status.unready: since when each unready replica of a shard of the map
// or of the controller group, in a group that has a quorum, has been
// unready (counted while it had one), so a restarted operator keeps
// counting towards replaceAfter. A time within 2 s of the previous
// one is kept as it was: the value is recomputed on every reconcile.
void AddUnready(const Observation& o, const Json& previous, Json& status) {
  std::map<std::string, std::string> before;  // pod/uid -> since
  for (const Json& entry : previous.value("unready", Json::array())) {
    before[entry.value("pod", "") + "/" + entry.value("uid", "")] =
        entry.value("since", "");
  }
  Json list = Json::array();
  std::vector<const ShardObservation*> groups;
  for (const ShardObservation& s : o.shards) {
    if (s.in_map) groups.push_back(&s);
  }
  groups.push_back(&o.controller);  // replicas 0 when not observed
  for (const ShardObservation* group : groups) {
    const ShardObservation& s = *group;
    // Without a quorum the clocks do not run (they start again with it):
    // nothing to keep, and a since moving on every reconcile would rewrite
    // the status each time.
    if (!s.HasQuorum()) continue;
    for (const PodObservation& p : s.pods) {
      if (p.ready) continue;
      const auto since = o.now - p.unready_for;
      std::string text = kube::FormatTime(since);
      auto it = before.find(p.name + "/" + p.uid);
      if (it != before.end()) {
        auto old = kube::ParseTime(it->second);
        if (old && *old - since < std::chrono::seconds(2) &&
            since - *old < std::chrono::seconds(2)) {
          text = it->second;
        }
      }
      list.push_back({{"pod", p.name}, {"uid", p.uid}, {"since", text}});
    }
  }
  if (!list.empty()) status["unready"] = list;
}

}  // namespace

const Json* FindCondition(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions")) return nullptr;
  for (const Json& c : status["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

Json ComputeStatus(const Observation& o, const Decision& d,
                   const Json& previous_in) {
  const Json previous = previous_in.is_object() ? previous_in : Json::object();
  const std::string now = kube::FormatTime(o.now);
  const Condition degraded = Degraded(o);
  const Condition conditions[] = {Available(o), Progressing(o, d), degraded,
                                  Migrating(o), Replacing(o)};

  Json status;
  status["observedGeneration"] = o.spec.generation;
  status["phase"] = Phase(o, previous, degraded);
  int in_map = 0, ready = 0;
  for (const ShardObservation& s : o.shards) {
    if (!s.in_map) continue;
    ++in_map;
    if (s.replicas > 0 && s.ReadyReplicas() == s.replicas &&
        !s.leader_pod.empty()) {
      ++ready;
    }
  }
  status["shards"] = in_map;
  status["readyShards"] = ready;
  status["selector"] = NodeSelector(o.spec);
  if (o.map.has_value()) {
    status["epoch"] = o.map->epoch();
  } else if (previous.contains("epoch")) {
    status["epoch"] = previous["epoch"];
  }
  status["conditions"] = Json::array();
  for (const Condition& c : conditions) {
    status["conditions"].push_back(
        ConditionJson(c, previous, o.spec.generation, now));
  }
  status["controller"] = {{"readyReplicas", o.controller_ready},
                          {"leader", o.controller_leader}};
  status["shardStatuses"] = ShardStatuses(o);
  AddMigration(o, previous, now, status);
  AddReplacing(o, previous, now, status);
  AddUnready(o, previous, status);
  return status;
}

}  // namespace shardkv::op
