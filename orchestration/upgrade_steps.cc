// Rolling-upgrade steps. The intent holds the shards still to upgrade
// ("shards", the first is the current one), the current shard's replicas
// still to restart ("pending", the first is the current one). Each step
// looks before it acts: moving leadership off a replica that does not
// lead does nothing, and a restart repeated after a crash only restarts
// the replica once more.
#include <charconv>
#include <thread>

#include "orchestration/param_util.h"
#include "orchestration/workflows.h"

namespace shardkv::orchestration {
namespace {

std::string FormatReplicas(const std::vector<ReplicaId>& ids) {
  std::string out;
  for (ReplicaId id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

StatusOr<std::vector<ReplicaId>> Pending(const Intent& in) {
  std::vector<ReplicaId> ids;
  auto it = in.params.find("pending");
  if (it == in.params.end() || it->second.empty()) return ids;
  const std::string& text = it->second;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    ReplicaId id = 0;
    auto [end, ec] =
        std::from_chars(text.data() + start, text.data() + comma, id);
    if (ec != std::errc() || end != text.data() + comma || id == 0) {
      return InvalidArgument("'" + text + "' is not a list of replica ids");
    }
    ids.push_back(id);
    start = comma + 1;
  }
  return ids;
}

// Shard ids of the intent; unlike ParseIds, 0 (the controller group) is
// one.
StatusOr<std::vector<ShardId>> ParseGroups(const std::string& text) {
  if (text == "0") return std::vector<ShardId>{0};
  if (text.rfind("0,", 0) == 0) {
    auto rest = ParseIds(text.substr(2));
    if (!rest.ok()) return rest.status();
    rest->insert(rest->begin(), 0);
    return rest;
  }
  return ParseIds(text);
}

struct Position {
  std::vector<ShardId> shards;     // [0] is the current shard
  std::vector<ReplicaId> pending;  // [0] is the current replica
};

StatusOr<Position> Parse(const Intent& in, bool need_replica) {
  Position p;
  auto it = in.params.find("shards");
  if (it == in.params.end()) return InvalidArgument("intent without shards");
  auto shards = ParseGroups(it->second);
  if (!shards.ok()) return shards.status();
  auto pending = Pending(in);
  if (!pending.ok()) return pending.status();
  if (need_replica && pending->empty()) {
    return InvalidArgument("intent without a replica to restart");
  }
  p.shards = std::move(*shards);
  p.pending = std::move(*pending);
  return p;
}

// The leader's own id, whichever way the status names it.
ReplicaId LeaderOf(const v1::StatusResponse& status) {
  return status.leader_id() != 0 ? status.leader_id() : status.id();
}

// The voter, other than `avoid`, that is furthest along (0: none).
ReplicaId SuccessorFor(const v1::StatusResponse& status, ReplicaId avoid) {
  ReplicaId best = 0;
  uint64_t best_match = 0;
  for (const v1::Member& m : status.members()) {
    if (m.learner() || m.id() == avoid) continue;
    if (best == 0 || m.match_index() > best_match) {
      best = m.id();
      best_match = m.match_index();
    }
  }
  return best;
}

int Voters(const v1::StatusResponse& status) {
  int voters = 0;
  for (const v1::Member& m : status.members()) voters += m.learner() ? 0 : 1;
  return voters;
}

}  // namespace

StatusOr<Intent> Orchestrator::UpPlan(const Intent& in) {
  auto p = Parse(in, false);
  if (!p.ok()) return p.status();
  Intent next = in;
  while (!p->shards.empty()) {
    auto replicas = infrastructure_.ReplicasToUpgrade(p->shards.front());
    if (!replicas.ok()) return replicas.status();
    if (!replicas->empty()) {
      next.params["shards"] = FormatIds(p->shards);
      next.params["pending"] = FormatReplicas(*replicas);
      return Next(next, "move-leader");
    }
    p->shards.erase(p->shards.begin());
  }
  return Next(in, "");
}

StatusOr<Intent> Orchestrator::UpMoveLeader(const Intent& in) {
  auto p = Parse(in, true);
  if (!p.ok()) return p.status();
  const ShardId shard = p->shards.front();
  const ReplicaId replica = p->pending.front();
  // Never take a replica of a shard that is not whole.
  SHARDKV_RETURN_IF_ERROR(
      infrastructure_.WaitShardReady(shard, options_.shard_ready_timeout));
  auto deadline =
      std::chrono::steady_clock::now() + options_.shard_ready_timeout;
  bool asked = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Aborting()) return Status(Code::kAborted, "stopping");
    auto status = admin_.LeaderStatus(shard);
    if (status.ok() && LeaderOf(*status) != replica) {
      return Next(in, "restart");
    }
    if (status.ok() && !asked) {
      ReplicaId to = SuccessorFor(*status, replica);
      if (to == 0 && Voters(*status) == 1) {
        // A group of one: nobody to hand over to; it restarts leading.
        return Next(in, "restart");
      }
      if (to == 0) {
        return FailedPrecondition("shard " + std::to_string(shard) +
                                  " has no other voter to lead");
      }
      SHARDKV_RETURN_IF_ERROR(admin_.TransferLeadership(shard, to));
      asked = true;
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  return Status(Code::kDeadlineExceeded,
                "leadership did not move off replica " +
                    std::to_string(replica) + " of shard " +
                    std::to_string(shard));
}

StatusOr<Intent> Orchestrator::UpRestart(const Intent& in) {
  auto p = Parse(in, true);
  if (!p.ok()) return p.status();
  const ShardId shard = p->shards.front();
  const ReplicaId replica = p->pending.front();
  // Leadership may have come back since it was moved.
  auto status = admin_.LeaderStatus(shard);
  if (!status.ok()) return status.status();
  if (LeaderOf(*status) == replica && Voters(*status) > 1) {
    return Next(in, "move-leader");
  }
  SHARDKV_RETURN_IF_ERROR(infrastructure_.RestartReplica(shard, replica));
  return Next(in, "wait-ready");
}

StatusOr<Intent> Orchestrator::UpWaitReady(const Intent& in) {
  auto p = Parse(in, true);
  if (!p.ok()) return p.status();
  SHARDKV_RETURN_IF_ERROR(infrastructure_.WaitShardReady(
      p->shards.front(), options_.shard_ready_timeout));
  p->pending.erase(p->pending.begin());
  Intent next = in;
  if (!p->pending.empty()) {
    next.params["pending"] = FormatReplicas(p->pending);
    return Next(next, "move-leader");
  }
  next.params.erase("pending");
  p->shards.erase(p->shards.begin());
  if (p->shards.empty()) return Next(next, "");
  next.params["shards"] = FormatIds(p->shards);
  return Next(next, "plan");
}

}  // namespace shardkv::orchestration
