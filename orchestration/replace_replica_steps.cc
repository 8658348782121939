// Replica replacement steps: the new identity joins as a learner, catches
// up, is promoted; then the old identity is removed and deleted and the
// map's copy of the shard's members is refreshed. Each step checks the
// shard's membership before acting, so repeating it is safe.
#include <thread>

#include "orchestration/param_util.h"
#include "orchestration/workflows.h"

namespace shardkv::orchestration {
namespace {

struct ReplaceParams {
  ShardId shard = 0;
  ReplicaId old_id = 0;
  ReplicaId new_id = 0;
};

StatusOr<ReplaceParams> Params(const Intent& in) {
  ReplaceParams p;
  auto shard = RequiredU64(in, "shard");
  auto old_id = RequiredU64(in, "old");
  auto new_id = RequiredU64(in, "new");
  if (!shard.ok()) return shard.status();
  if (!old_id.ok()) return old_id.status();
  if (!new_id.ok()) return new_id.status();
  p.shard = static_cast<ShardId>(*shard);
  p.old_id = *old_id;
  p.new_id = *new_id;
  return p;
}

const v1::Member* FindMember(const v1::StatusResponse& status, ReplicaId id) {
  for (const v1::Member& m : status.members()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

}  // namespace

StatusOr<Intent> Orchestrator::RrCreate(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto member = infrastructure_.CreateReplica(p->shard, p->new_id, p->old_id);
  if (!member.ok()) return member.status();
  Intent next = Next(in, "add-learner");
  next.params["address"] = member->address();
  return next;
}

StatusOr<Intent> Orchestrator::RrAddLearner(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto address = in.params.find("address");
  if (address == in.params.end() || address->second.empty()) {
    return InvalidArgument("intent without the new replica's address");
  }
  auto status = admin_.LeaderStatus(p->shard);
  if (!status.ok()) return status.status();
  if (FindMember(*status, p->new_id) == nullptr) {
    SHARDKV_RETURN_IF_ERROR(
        admin_.AddLearner(p->shard, p->new_id, address->second));
  }
  return Next(in, "catch-up");
}

StatusOr<Intent> Orchestrator::RrCatchUp(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto deadline =
      std::chrono::steady_clock::now() + options_.shard_ready_timeout;
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Aborting()) return Status(Code::kAborted, "stopping");
    auto status = admin_.LeaderStatus(p->shard);
    if (status.ok()) {
      const v1::Member* m = FindMember(*status, p->new_id);
      if (m == nullptr) {
        return FailedPrecondition("replica " + std::to_string(p->new_id) +
                                  " is no longer a member");
      }
      if (!m->learner() ||
          m->match_index() + options_.catch_up_lag >= status->commit_index()) {
        return Next(in, "promote");
      }
    } else {
      last = status.status();
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  return Status(
      Code::kDeadlineExceeded,
      "replica " + std::to_string(p->new_id) + " did not catch up" +
          (last.ok() ? "" : " (last error: " + last.ToString() + ")"));
}

StatusOr<Intent> Orchestrator::RrPromote(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto status = admin_.LeaderStatus(p->shard);
  if (!status.ok()) return status.status();
  const v1::Member* m = FindMember(*status, p->new_id);
  if (m == nullptr) {
    return FailedPrecondition("replica " + std::to_string(p->new_id) +
                              " is no longer a member");
  }
  if (m->learner()) {
    SHARDKV_RETURN_IF_ERROR(admin_.Promote(p->shard, p->new_id));
  }
  return Next(in, "remove-old");
}

StatusOr<Intent> Orchestrator::RrRemoveOld(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto status = admin_.LeaderStatus(p->shard);
  if (!status.ok()) return status.status();
  if (FindMember(*status, p->old_id) != nullptr) {
    SHARDKV_RETURN_IF_ERROR(admin_.RemoveMember(p->shard, p->old_id));
  }
  return Next(in, "delete-old");
}

StatusOr<Intent> Orchestrator::RrDeleteOld(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  SHARDKV_RETURN_IF_ERROR(infrastructure_.DeleteReplica(p->shard, p->old_id));
  return Next(in, "update-map");
}

StatusOr<Intent> Orchestrator::RrUpdateMap(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto map = controller_.GetMap();
  if (!map.ok()) return map.status();
  if (FindShard(*map, p->shard) != nullptr) {
    auto status = admin_.LeaderStatus(p->shard);
    if (!status.ok()) return status.status();
    std::vector<v1::Member> members(status->members().begin(),
                                    status->members().end());
    auto joined = controller_.JoinShard(p->shard, members);
    if (!joined.ok()) return joined.status();
  }
  return Next(in, "");
}

}  // namespace shardkv::orchestration
