#include "tests/chaos/fault_injector.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <thread>

#include "common/log.h"
#include "common/slot.h"
#include "tests/harness/poll_wait.h"

namespace shardkv::test {
namespace {

constexpr milliseconds kSettleTimeout(90000);

const std::pair<FaultKind, const char*> kNames[] = {
    {FaultKind::kKill, "kill"},
    {FaultKind::kKillLeader, "kill-leader"},
    {FaultKind::kPause, "pause"},
    {FaultKind::kPartition, "partition"},
    {FaultKind::kOneWay, "oneway"},
    {FaultKind::kDiskFull, "disk-full"},
    {FaultKind::kTransfer, "transfer"},
    {FaultKind::kMoveSlot, "move-slot"},
    {FaultKind::kScaleOut, "scale-out"},
    {FaultKind::kScaleIn, "scale-in"},
    {FaultKind::kReplace, "replace"},
};

// Whether the node's last run (its log is appended to across restarts)
// stopped itself on a full disk: the FATAL line it writes before exiting
// to protect its data.
bool StoppedOnFullDisk(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line;
  std::string last_fatal;
  while (std::getline(in, line)) {
    if (line.find("] serving on ") != std::string::npos) last_fatal.clear();
    if (line.find("FATAL") != std::string::npos) last_fatal = line;
  }
  return last_fatal.find("disk full") != std::string::npos;
}

// The last line a failpoint crash writes is "failpoint NAME: crash".
bool CrashedAtFailpoint(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.rfind("failpoint ", 0) == 0 &&
         last.find(": crash") != std::string::npos;
}

}  // namespace

const char* FaultName(FaultKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "?";
}

StatusOr<std::vector<FaultKind>> ParseFaults(const std::string& list) {
  std::vector<FaultKind> out;
  if (list == "all") {
    for (const auto& [k, name] : kNames) out.push_back(k);
    return out;
  }
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    bool found = false;
    for (const auto& [k, name] : kNames) {
      if (item == name) {
        out.push_back(k);
        found = true;
      }
    }
    if (!found) {
      std::string names;
      for (const auto& [k, name] : kNames) names += std::string(" ") + name;
      return InvalidArgument("unknown fault '" + item + "'; known:" + names);
    }
  }
  if (out.empty()) return InvalidArgument("--faults names no fault");
  return out;
}

FaultInjector::FaultInjector(ShardedCluster* cluster, uint64_t seed,
                             std::vector<FaultKind> kinds,
                             std::vector<std::string> hot_keys, int min_shards,
                             int max_shards)
    : cluster_(cluster),
      rng_(seed),
      kinds_(std::move(kinds)),
      hot_keys_(std::move(hot_keys)),
      min_shards_(min_shards),
      max_shards_(max_shards) {
  for (uint32_t id : cluster_->shard_ids()) {
    next_shard_id_ = std::max(next_shard_id_, id + 1);
  }
}

std::vector<FaultInjector::Victim> FaultInjector::RunningReplicas(
    bool shards_only) {
  std::vector<Victim> out;
  auto add = [&](ShardCluster& group, const std::string& label) {
    for (NodeId id : group.ids()) {
      if (group.IsRunning(id)) out.push_back(Victim{&group, id, label});
    }
  };
  if (!shards_only) add(cluster_->controller(), "controller");
  for (uint32_t s : cluster_->shard_ids()) {
    add(cluster_->shard(s), "shard " + std::to_string(s));
  }
  return out;
}

StatusOr<FaultInjector::Victim> FaultInjector::LeaderVictim() {
  std::vector<Victim> leaders;
  for (const Victim& v : RunningReplicas(false)) {
    auto st = v.group->NodeStatus(v.id);
    if (st.ok() && st->role() == v1::ROLE_LEADER) leaders.push_back(v);
  }
  if (leaders.empty()) return Unavailable("no leader to pick");
  return leaders[rng_() % leaders.size()];
}

StatusOr<std::string> FaultInjector::InjectOne() {
  FaultKind kind = kinds_[rng_() % kinds_.size()];
  auto what = Apply(kind);
  if (what.ok()) {
    ++injected_;
    ++counts_[FaultName(kind)];
    SHARDKV_LOG(kInfo) << "chaos: fault " << injected_ << ": " << *what;
  }
  return what;
}

StatusOr<std::string> FaultInjector::Apply(FaultKind kind) {
  auto pick = [&](bool shards_only) -> StatusOr<Victim> {
    std::vector<Victim> all = RunningReplicas(shards_only);
    if (all.empty()) return Unavailable("no running replica");
    return all[rng_() % all.size()];
  };
  auto name = [](const Victim& v) {
    return v.label + " node " + std::to_string(v.id);
  };
  switch (kind) {
    case FaultKind::kKill:
    case FaultKind::kKillLeader: {
      auto v = kind == FaultKind::kKill ? pick(false) : LeaderVictim();
      if (!v.ok()) return v.status();
      SHARDKV_RETURN_IF_ERROR(v->group->Kill(v->id));
      dead_.push_back(*v);
      return std::string(FaultName(kind)) + " " + name(*v);
    }
    case FaultKind::kPause: {
      auto v = pick(false);
      if (!v.ok()) return v.status();
      SHARDKV_RETURN_IF_ERROR(v->group->Pause(v->id));
      paused_.push_back(*v);
      return "pause " + name(*v);
    }
    case FaultKind::kPartition:
    case FaultKind::kOneWay: {
      auto v = pick(false);
      if (!v.ok()) return v.status();
      SHARDKV_RETURN_IF_ERROR(kind == FaultKind::kPartition
                                  ? v->group->Partition(v->id)
                                  : v->group->PartitionOutgoing(v->id));
      cut_groups_.insert(v->group);
      return std::string(FaultName(kind)) + " " + name(*v);
    }
    case FaultKind::kDiskFull: {
      auto v = pick(true);
      if (!v.ok()) return v.status();
      SHARDKV_RETURN_IF_ERROR(v->group->FillDisk(v->id));
      full_disks_.push_back(*v);
      return "disk-full " + name(*v);
    }
    case FaultKind::kTransfer: {
      std::vector<uint32_t> shards = cluster_->shard_ids();
      uint32_t s = shards[rng_() % shards.size()];
      auto admin = CurrentAdmin(cluster_->shard(s));
      if (!admin.ok()) return admin.status();
      auto r = (*admin)->TransferLeader(0);
      if (!r.ok()) return r.status();
      return "transfer shard " + std::to_string(s) + " leadership to node " +
             std::to_string(r->leader_id());
    }
    case FaultKind::kMoveSlot:
      return MoveSlot();
    case FaultKind::kScaleOut:
      return ScaleOut();
    case FaultKind::kScaleIn:
      return ScaleIn();
    case FaultKind::kReplace:
      return Replace();
  }
  return Internal("unknown fault");
}

StatusOr<std::string> FaultInjector::MoveSlot() {
  auto map = cluster_->GetMap();
  if (!map.ok()) return map.status();
  uint32_t slot = static_cast<uint32_t>(rng_() % map->slot_count());
  if (!hot_keys_.empty() && rng_() % 3 != 0) {
    slot = SlotOf(hot_keys_[rng_() % hot_keys_.size()], map->slot_count());
  }
  uint32_t from = map->slot_owner(static_cast<int>(slot));
  std::vector<uint32_t> targets;
  for (uint32_t s : cluster_->shard_ids()) {
    if (s != from) targets.push_back(s);
  }
  if (targets.empty()) return FailedPrecondition("one shard: nowhere to move");
  uint32_t to = targets[rng_() % targets.size()];
  auto started = cluster_->MoveSlot(slot, to);
  if (!started.ok()) return started.status();
  auto settled = cluster_->WaitSettled(kSettleTimeout);
  if (!settled.ok()) return settled.status();
  return "move-slot " + std::to_string(slot) + " from shard " +
         std::to_string(from) + " to shard " + std::to_string(to);
}

StatusOr<std::string> FaultInjector::ScaleOut() {
  if (static_cast<int>(cluster_->shard_ids().size()) >= max_shards_) {
    return ScaleIn();
  }
  uint32_t id = next_shard_id_++;
  SHARDKV_RETURN_IF_ERROR(cluster_->StartShard(id));
  auto joined = cluster_->JoinShard(id);
  if (!joined.ok()) return joined.status();
  SHARDKV_RETURN_IF_ERROR(cluster_->Rebalance());
  auto settled = cluster_->WaitSettled(kSettleTimeout);
  if (!settled.ok()) return settled.status();
  return "scale-out: shard " + std::to_string(id) + " joined";
}

StatusOr<std::string> FaultInjector::ScaleIn() {
  std::vector<uint32_t> shards = cluster_->shard_ids();
  if (static_cast<int>(shards.size()) <= min_shards_) return ScaleOut();
  uint32_t id = shards[rng_() % shards.size()];
  SHARDKV_RETURN_IF_ERROR(cluster_->DrainShard(id));
  auto settled = cluster_->WaitSettled(kSettleTimeout);
  if (!settled.ok()) return settled.status();
  for (uint32_t owner : settled->slot_owner()) {
    if (owner == id) {
      return Internal("shard " + std::to_string(id) +
                      " still owns slots after its drain settled");
    }
  }
  SHARDKV_RETURN_IF_ERROR(cluster_->RemoveShard(id));
  cluster_->StopShard(id);
  return "scale-in: shard " + std::to_string(id) + " drained and removed";
}

// The group's own admin client knows the addresses the shard started with;
// after a few replacements none of them may be alive, so talk to the
// replicas that are members now.
StatusOr<std::unique_ptr<client::AdminClient>> FaultInjector::CurrentAdmin(
    ShardCluster& group) const {
  client::AdminOptions options;
  for (NodeId id : group.ids()) {
    if (!retired_.contains({&group, id})) {
      options.endpoints.push_back(group.address(id));
    }
  }
  options.timeout = milliseconds(10000);
  return client::AdminClient::Create(std::move(options));
}

bool FaultInjector::Degraded(const ShardCluster* group) const {
  auto held = [&](const std::vector<Victim>& victims) {
    for (const Victim& v : victims) {
      if (v.group == group) return true;
    }
    return false;
  };
  return held(dead_) || held(paused_) || held(full_disks_) ||
         cut_groups_.contains(const_cast<ShardCluster*>(group));
}

StatusOr<std::string> FaultInjector::Replace() {
  std::vector<uint32_t> shards = cluster_->shard_ids();
  uint32_t s = shards[rng_() % shards.size()];
  ShardCluster& group = cluster_->shard(s);
  // Losing a disk on a shard that already has a fault held (a dead, paused,
  // cut-off or full replica), or a replacement still unfinished, could take
  // away its quorum for good; an operator replaces only healthy-quorum
  // shards too.
  for (const PendingReplace& p : unfinished_replaces_) {
    if (p.shard == s) {
      return FailedPrecondition("shard " + std::to_string(s) +
                                " has a replacement in progress");
    }
  }
  if (Degraded(&group)) {
    return FailedPrecondition("shard " + std::to_string(s) +
                              " has a fault held; not replacing");
  }
  std::vector<NodeId> running;
  for (NodeId id : group.ids()) {
    if (group.IsRunning(id)) running.push_back(id);
  }
  if (running.size() < 3) {
    return FailedPrecondition("shard " + std::to_string(s) +
                              " has fewer than 3 running replicas");
  }
  NodeId old_id = running[rng_() % running.size()];
  NodeId& next = next_replica_id_[s];
  if (next == 0) next = 100 * s + 50;
  PendingReplace replace{s, old_id, next++, running};
  // The old replica's disk is lost: it dies and its data is gone.
  SHARDKV_RETURN_IF_ERROR(group.Kill(old_id));
  SHARDKV_RETURN_IF_ERROR(group.WipeData(old_id));
  retired_.insert({&group, old_id});
  // From here on the shard runs one voter short until the replacement
  // finishes, so an unfinished one is remembered and finished by Heal()
  // (a workflow resumes; it is never abandoned half-way).
  if (Status started = group.StartJoining(replace.new_id); !started.ok()) {
    unfinished_replaces_.push_back(replace);
    return started;
  }
  if (Status done = FinishReplace(replace, milliseconds(30000)); !done.ok()) {
    unfinished_replaces_.push_back(replace);
    return done;
  }
  return "replace shard " + std::to_string(s) + " node " +
         std::to_string(old_id) + " (disk lost) by node " +
         std::to_string(replace.new_id);
}

// Every step looks at the leader's membership first, so running this again
// after a partial attempt redoes only what is missing.
Status FaultInjector::FinishReplace(const PendingReplace& r,
                                    milliseconds budget) {
  ShardCluster& group = cluster_->shard(r.shard);
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto left = [&] {
    return std::max(milliseconds(1000),
                    std::chrono::duration_cast<milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  auto leader_view = [&]() -> StatusOr<v1::StatusResponse> {
    auto leader = group.WaitForLeader(left(), r.voters, {r.old_id});
    if (!leader.ok()) return leader.status();
    return group.NodeStatus(*leader);
  };
  auto find = [](const v1::StatusResponse& st, NodeId id) -> const v1::Member* {
    for (const v1::Member& m : st.members()) {
      if (m.id() == id) return &m;
    }
    return nullptr;
  };
  auto admin = CurrentAdmin(group);
  if (!admin.ok()) return admin.status();
  auto view = leader_view();
  if (!view.ok()) return view.status();
  if (find(*view, r.new_id) == nullptr) {
    auto added = (*admin)->AddLearner(r.new_id, group.address(r.new_id));
    if (!added.ok()) return added.status();
  }
  // Caught up: its applied index reaches the leader's commit index.
  while (true) {
    view = leader_view();
    auto mine = group.NodeStatus(r.new_id);
    if (view.ok() && mine.ok() &&
        mine->applied_index() + 10 >= view->commit_index()) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("new replica " + std::to_string(r.new_id) +
                         " of shard " + std::to_string(r.shard) +
                         " did not catch up in time");
    }
    PollWait(milliseconds(100));
  }
  const v1::Member* added = find(*view, r.new_id);
  if (added == nullptr || added->learner()) {
    auto promoted = (*admin)->Promote(r.new_id);
    if (!promoted.ok()) return promoted.status();
  }
  view = leader_view();
  if (!view.ok()) return view.status();
  if (find(*view, r.old_id) != nullptr) {
    auto removed = (*admin)->RemoveMember(r.old_id);
    if (!removed.ok()) return removed.status();
  }
  auto joined = cluster_->JoinShard(r.shard);
  if (!joined.ok()) return joined.status();
  SHARDKV_LOG(kInfo) << "chaos: replacement of node " << r.old_id << " by node "
                     << r.new_id << " in shard " << r.shard << " finished";
  return Status::Ok();
}

Status FaultInjector::FinishReplacements(bool last) {
  std::vector<PendingReplace> still;
  std::string failures;
  const std::vector<uint32_t> shards = cluster_->shard_ids();
  for (const PendingReplace& r : unfinished_replaces_) {
    if (std::find(shards.begin(), shards.end(), r.shard) == shards.end()) {
      continue;  // the shard was scaled in meanwhile
    }
    Status done = FinishReplace(r, milliseconds(60000));
    if (!done.ok()) {
      still.push_back(r);
      failures += "\n  shard " + std::to_string(r.shard) + " node " +
                  std::to_string(r.old_id) + " -> " + std::to_string(r.new_id) +
                  ": " + done.ToString();
    }
  }
  unfinished_replaces_ = std::move(still);
  if (!failures.empty() && !last) {
    SHARDKV_LOG(kInfo) << "chaos: retrying at the next heal:" << failures;
    return Status::Ok();
  }
  if (!failures.empty()) {
    return Unavailable("replacements could not finish after healing:" +
                       failures);
  }
  return Status::Ok();
}

Status FaultInjector::Heal(bool last) {
  for (const Victim& v : paused_) (void)v.group->Resume(v.id);
  paused_.clear();
  for (const Victim& v : full_disks_) {
    SHARDKV_RETURN_IF_ERROR(v.group->FreeDisk(v.id));
    if (!v.group->IsRunning(v.id)) {
      SHARDKV_LOG(kInfo) << "chaos: node " << v.id
                         << " stopped on a full disk; restarting it";
      SHARDKV_RETURN_IF_ERROR(v.group->Restart(v.id));
    }
  }
  // A node that hit the full disk may stop itself just after the disk was
  // freed (its apply failure is noticed a moment later): that exit is the
  // fault's, recognised by the reason in its log, not an unexpected one.
  std::vector<Victim> freed = std::move(full_disks_);
  full_disks_.clear();
  for (ShardCluster* group : cut_groups_) group->HealAll();
  cut_groups_.clear();
  for (const Victim& v : dead_) {
    if (!retired_.contains({v.group, v.id}) && !v.group->IsRunning(v.id)) {
      SHARDKV_RETURN_IF_ERROR(v.group->Restart(v.id));
    }
  }
  dead_.clear();
  Status replaced = FinishReplacements(last);
  RestartFailpointCrashes();
  // Anything else not running died on its own: a bug unless retired.
  std::vector<std::string> unexpected;
  (void)ForEachGroup([&](ShardCluster& group) {
    for (NodeId id : group.ids()) {
      if (group.IsRunning(id) || retired_.contains({&group, id})) continue;
      const bool was_full = std::any_of(
          freed.begin(), freed.end(),
          [&](const Victim& v) { return v.group == &group && v.id == id; });
      if (was_full && StoppedOnFullDisk(group.log_path(id))) {
        SHARDKV_LOG(kInfo) << "chaos: node " << id
                           << " stopped on its full disk after it was "
                              "freed; restarting it";
        (void)group.Restart(id);
        continue;
      }
      unexpected.push_back("node " + std::to_string(id) + " (log " +
                           group.log_path(id) + ")");
      (void)group.Restart(id);
    }
    return Status::Ok();
  });
  if (!unexpected.empty()) {
    std::string list;
    for (const std::string& u : unexpected) list += "\n  " + u;
    return Internal("processes exited without being killed:" + list);
  }
  return replaced;
}

Status FaultInjector::ForEachGroup(
    const std::function<Status(ShardCluster&)>& fn) {
  SHARDKV_RETURN_IF_ERROR(fn(cluster_->controller()));
  for (uint32_t s : cluster_->shard_ids()) {
    SHARDKV_RETURN_IF_ERROR(fn(cluster_->shard(s)));
  }
  return Status::Ok();
}

void FaultInjector::RestartFailpointCrashes() {
  (void)ForEachGroup([&](ShardCluster& group) {
    for (NodeId id : group.ids()) {
      if (retired_.contains({&group, id}) || group.IsRunning(id) ||
          !CrashedAtFailpoint(group.log_path(id))) {
        continue;
      }
      ++failpoint_crashes_;
      SHARDKV_LOG(kInfo) << "chaos: node " << id
                         << " crashed at a failpoint; restarting it";
      (void)group.Restart(id);
    }
    return Status::Ok();
  });
}

Status FaultInjector::RestartEveryNode() {
  return ForEachGroup([&](ShardCluster& group) -> Status {
    for (NodeId id : group.ids()) {
      if (retired_.contains({&group, id})) continue;
      if (group.IsRunning(id) && !group.Stop(id).ok()) {
        (void)group.Kill(id);  // crashed at a failpoint while stopping
      }
      SHARDKV_RETURN_IF_ERROR(group.Restart(id));
    }
    return Status::Ok();
  });
}

}  // namespace shardkv::test
