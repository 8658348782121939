#include "operator/observe.h"

#include <algorithm>
#include <charconv>

#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

std::string Name(const Json& object) {
  return object.value("metadata", Json::object()).value("name", "");
}

std::string Label(const Json& object, const std::string& label) {
  const Json meta = object.value("metadata", Json::object());
  return meta.value("labels", Json::object()).value(label, "");
}

// The shard id of a shard StatefulSet (label shardkv.io/shard), 0 if none.
ShardId ShardOf(const Json& set) {
  if (Label(set, kRoleLabel) != "shard") return 0;
  const std::string text = Label(set, kShardLabel);
  ShardId id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return id;
}

ShardObservation& ShardEntry(std::vector<ShardObservation>& shards,
                             ShardId id) {
  for (ShardObservation& s : shards) {
    if (s.id == id) return s;
  }
  shards.emplace_back();
  shards.back().id = id;
  return shards.back();
}

// Fills s.pods (ordinals < s.replicas of set `set_name`) and the group's
// quorum clock from the pods by name.
void ObservePods(const ShardedKV& kv, const std::string& set_name,
                 const std::map<std::string, const Json*>& pods_by_name,
                 UnreadyTracker& tracker, UnreadyTracker::Clock::time_point now,
                 ShardObservation& s) {
  for (int ordinal = 0; ordinal < s.replicas; ++ordinal) {
    PodObservation p;
    p.ordinal = ordinal;
    p.name = set_name + "-" + std::to_string(ordinal);
    auto it = pods_by_name.find(p.name);
    if (it != pods_by_name.end()) {
      p.exists = true;
      p.ready = IsPodReady(*it->second);
      p.image = NodeImageOf(*it->second);
      p.uid = it->second->value("metadata", Json::object()).value("uid", "");
    }
    p.unready_for = tracker.Track(UnreadyKey(kv, p), p.ready, now);
    s.pods.push_back(p);
  }
  const bool quorum = s.HasQuorum();
  s.quorum_lost_for =
      tracker.Track(kv.ns + "/" + set_name + "#quorum", quorum, now);
  if (quorum) return;
  // No replica can be ready without a quorum: the clocks start again
  // when the shard has one (replacement needs one anyway).
  for (PodObservation& p : s.pods) {
    if (p.ready) continue;
    tracker.Restart(UnreadyKey(kv, p), now);
    p.unready_for = std::chrono::milliseconds(0);
  }
}

}  // namespace

std::chrono::milliseconds UnreadyTracker::Track(const std::string& pod,
                                                bool ready,
                                                Clock::time_point now) {
  seen_[pod] = true;
  if (ready) {
    since_.erase(pod);
    return std::chrono::milliseconds(0);
  }
  auto [it, inserted] = since_.emplace(pod, now);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now -
                                                               it->second);
}

void UnreadyTracker::Restart(const std::string& pod, Clock::time_point now) {
  since_[pod] = now;
}

void UnreadyTracker::Seed(const std::string& pod, Clock::time_point since) {
  since_.emplace(pod, since);
}

void UnreadyTracker::ForgetUnseen() {
  for (auto it = since_.begin(); it != since_.end();) {
    it = seen_.count(it->first) ? std::next(it) : since_.erase(it);
  }
  seen_.clear();
}

std::string UnreadyKey(const ShardedKV& kv, const PodObservation& pod) {
  return UnreadyKey(kv, pod.name, pod.uid);
}

std::string UnreadyKey(const ShardedKV& kv, const std::string& pod,
                       const std::string& uid) {
  return kv.ns + "/" + pod + "/" + uid;
}

bool IsPodReady(const Json& pod) {
  const Json status = pod.value("status", Json::object());
  for (const Json& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string NodeImageOf(const Json& pod) {
  const Json spec = pod.value("spec", Json::object());
  const Json containers = spec.value("containers", Json::array());
  for (const Json& c : containers) {
    if (c.value("name", "") == "node") return c.value("image", "");
  }
  return containers.empty() ? "" : containers[0].value("image", "");
}

std::vector<ShardObservation> ObserveShards(
    const ShardedKV& kv, const std::vector<Json>& sets,
    const std::vector<Json>& pods, const v1::SlotMap* map,
    UnreadyTracker& tracker, UnreadyTracker::Clock::time_point now) {
  std::vector<ShardObservation> shards;
  if (map != nullptr) {
    for (const v1::Shard& s : map->shards()) {
      ShardObservation& entry = ShardEntry(shards, s.id());
      entry.in_map = true;
      entry.draining = s.state() == v1::SHARD_DRAINING;
    }
    for (uint32_t owner : map->slot_owner()) {
      if (owner == 0) continue;
      for (ShardObservation& s : shards) {
        if (s.id == owner) ++s.slots;
      }
    }
  }
  for (const Json& set : sets) {
    const ShardId id = ShardOf(set);
    if (id == 0 || Name(set) != ShardSetName(kv, id)) continue;
    ShardObservation& entry = ShardEntry(shards, id);
    entry.set_exists = true;
    entry.replicas = set.value("spec", Json::object())
                         .value("replicas", kv.replicas_per_shard);
  }
  std::map<std::string, const Json*> pods_by_name;
  for (const Json& pod : pods) pods_by_name[Name(pod)] = &pod;
  for (ShardObservation& s : shards) {
    // A shard of the map without a set still has the replicas it should.
    if (!s.set_exists) s.replicas = kv.replicas_per_shard;
    ObservePods(kv, ShardSetName(kv, s.id), pods_by_name, tracker, now, s);
  }
  std::sort(shards.begin(), shards.end(),
            [](const ShardObservation& a, const ShardObservation& b) {
              return a.id < b.id;
            });
  return shards;
}

ShardObservation ObserveController(const ShardedKV& kv,
                                   const std::vector<Json>& pods,
                                   UnreadyTracker& tracker,
                                   UnreadyTracker::Clock::time_point now) {
  ShardObservation s;
  s.id = 0;
  s.set_exists = true;
  s.replicas = kv.controller_replicas;
  std::map<std::string, const Json*> pods_by_name;
  for (const Json& pod : pods) {
    if (Label(pod, kRoleLabel) == "controller") pods_by_name[Name(pod)] = &pod;
  }
  ObservePods(kv, ControllerSetName(kv), pods_by_name, tracker, now, s);
  return s;
}

int ControllerReadyReplicas(const ShardedKV& kv,
                            const std::vector<Json>& pods) {
  int ready = 0;
  for (int ordinal = 0; ordinal < kv.controller_replicas; ++ordinal) {
    const std::string name =
        ControllerSetName(kv) + "-" + std::to_string(ordinal);
    for (const Json& pod : pods) {
      if (Name(pod) == name && IsPodReady(pod)) ++ready;
    }
  }
  return ready;
}

bool ControllerOutdated(const ShardedKV& kv, const std::vector<Json>& pods,
                        const std::string& image) {
  const std::string prefix = ControllerSetName(kv) + "-";
  for (const Json& pod : pods) {
    const std::string name = Name(pod);
    if (name.rfind(prefix, 0) != 0 || Label(pod, kRoleLabel) != "controller") {
      continue;
    }
    if (NodeImageOf(pod) != image) return true;
  }
  return false;
}

}  // namespace shardkv::op
