// Scale-out and scale-in steps. Each looks before it acts, so running it
// again after a crash (before or after its action) is safe.
#include "orchestration/param_util.h"
#include "orchestration/workflows.h"

namespace shardkv::orchestration {
namespace {

StatusOr<std::vector<ShardId>> Shards(const Intent& in) {
  auto it = in.params.find("shards");
  if (it == in.params.end()) return InvalidArgument("intent without shards");
  return ParseIds(it->second);
}

// The next intent carries where the migration totals stood, so progress
// counts only this workflow's moves.
Intent WithBaseline(Intent next, const v1::SlotMap& map) {
  next.params["base-slots"] = std::to_string(map.totals().slots_moved());
  next.params["base-bytes"] = std::to_string(map.totals().bytes_moved());
  return next;
}

}  // namespace

StatusOr<Intent> Orchestrator::OutCreate(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  for (ShardId s : *shards) {
    auto members = infrastructure_.CreateShard(s);
    if (!members.ok()) return members.status();
  }
  return Next(in, "wait-ready");
}

StatusOr<Intent> Orchestrator::OutWaitReady(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  for (ShardId s : *shards) {
    SHARDKV_RETURN_IF_ERROR(
        infrastructure_.WaitShardReady(s, options_.shard_ready_timeout));
  }
  return Next(in, "join");
}

StatusOr<Intent> Orchestrator::OutJoin(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  StatusOr<v1::SlotMap> map = controller_.GetMap();
  if (!map.ok()) return map.status();
  for (ShardId s : *shards) {
    auto members = infrastructure_.ShardReplicas(s);
    if (!members.ok()) return members.status();
    // Joining again only refreshes the members: safe to repeat.
    map = controller_.JoinShard(s, *members);
    if (!map.ok()) return map.status();
  }
  return WithBaseline(Next(in, "rebalance"), *map);
}

StatusOr<Intent> Orchestrator::OutRebalance(const Intent& in) {
  auto plan = controller_.Rebalance();
  if (!plan.ok()) return plan.status();
  Intent next = Next(in, "wait-balanced");
  // A repeated Rebalance plans only what is left; keep the larger count.
  uint64_t planned =
      std::max<uint64_t>(ParamU64(in, "planned"), plan->moves_size());
  next.params["planned"] = std::to_string(planned);
  return next;
}

StatusOr<Intent> Orchestrator::OutWaitBalanced(const Intent& in) {
  auto map = WaitForMap(controller_, Balanced, MapWait(in, false));
  if (!map.ok()) return map.status();
  return Next(in, "");
}

StatusOr<Intent> Orchestrator::InDrain(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  auto map = controller_.GetMap();
  if (!map.ok()) return map.status();
  Intent next = WithBaseline(Next(in, "wait-drained"), *map);
  uint64_t planned = ParamU64(in, "planned");
  for (ShardId s : *shards) planned += SlotsOwnedBy(*map, s);
  next.params["planned"] = std::to_string(planned);
  for (ShardId s : *shards) {
    const v1::Shard* shard = FindShard(*map, s);
    if (shard == nullptr || shard->state() == v1::SHARD_DRAINING) continue;
    auto drained = controller_.DrainShard(s);
    if (!drained.ok()) return drained.status();
  }
  return next;
}

StatusOr<Intent> Orchestrator::InWaitDrained(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  auto all_drained = [&](const v1::SlotMap& map) {
    for (ShardId s : *shards) {
      if (!Drained(map, s)) return false;
    }
    return true;
  };
  auto map = WaitForMap(controller_, all_drained, MapWait(in, true));
  if (map.ok()) return Next(in, "remove");
  if (map.status().code() == Code::kCancelled && !Aborting()) {
    return Next(in, "cancel");
  }
  return map.status();
}

StatusOr<Intent> Orchestrator::InCancel(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  auto map = controller_.GetMap();
  if (!map.ok()) return map.status();
  for (ShardId s : *shards) {
    const v1::Shard* shard = FindShard(*map, s);
    if (shard == nullptr || shard->state() != v1::SHARD_DRAINING) continue;
    auto active = controller_.CancelDrain(s);
    if (!active.ok()) return active.status();
  }
  // Slots already moved away flow back through the controller's driver.
  auto plan = controller_.Rebalance();
  if (!plan.ok()) return plan.status();
  cancelled_ = true;
  return Next(in, "");
}

StatusOr<Intent> Orchestrator::InRemove(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  auto map = controller_.GetMap();
  if (!map.ok()) return map.status();
  for (ShardId s : *shards) {
    if (FindShard(*map, s) == nullptr) continue;  // removed before a crash
    auto removed = controller_.RemoveShard(s);
    if (!removed.ok()) return removed.status();
  }
  return Next(in, "delete");
}

StatusOr<Intent> Orchestrator::InDelete(const Intent& in) {
  auto shards = Shards(in);
  if (!shards.ok()) return shards.status();
  for (ShardId s : *shards) {
    SHARDKV_RETURN_IF_ERROR(infrastructure_.DeleteShard(s));
  }
  return Next(in, "");
}

}  // namespace shardkv::orchestration
