// Replica replacement steps: the new identity joins as a learner, catches
// up, is promoted; then the old identity is removed and deleted and the
// map's copy of the shard's members is refreshed. Each step checks the
// shard's membership before acting, so repeating it is safe.
#include <algorithm>
#include <functional>
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

// The leader's status; a group without a leader for a moment (an election
// after a membership change, a leader moving) is waited out for up to
// options.shard_ready_timeout instead of failing the step.
StatusOr<v1::StatusResponse> SteadyLeaderStatus(
    ShardAdmin& admin, ShardId shard, const WorkflowOptions& options) {
  const auto deadline =
      std::chrono::steady_clock::now() + options.shard_ready_timeout;
  while (true) {
    auto status = admin.LeaderStatus(shard);
    if (status.ok() || status.status().code() != Code::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline ||
        (options.abort_requested && options.abort_requested())) {
      return status;
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

// A membership call that failed may still have been committed: the client
// retries a call whose answer was lost, and the retry is refused ("not a
// member", "not a learner", "already a member"). `change` is done when
// `done` holds for the leader's membership afterwards. The leader that
// refused may not have applied the change yet (its status lists the applied
// configuration), so that is polled for a while, not read once.
Status MembershipChange(
    ShardAdmin& admin, ShardId shard, Status change,
    const std::function<bool(const v1::StatusResponse&)>& done,
    const WorkflowOptions& options) {
  if (change.ok() || change.code() != Code::kFailedPrecondition) return change;
  // A committed change is applied within a round trip or two; a refusal
  // that is not one (e.g. another change pending) fails after this.
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::min<std::chrono::milliseconds>(options.shard_ready_timeout,
                                          std::chrono::seconds(10));
  do {
    auto status = admin.LeaderStatus(shard);
    if (status.ok() && done(*status)) return Status::Ok();
    std::this_thread::sleep_for(options.poll_interval);
  } while (std::chrono::steady_clock::now() < deadline);
  return change;
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
  auto status = SteadyLeaderStatus(admin_, p->shard, options_);
  if (!status.ok()) return status.status();
  if (FindMember(*status, p->new_id) == nullptr) {
    SHARDKV_RETURN_IF_ERROR(MembershipChange(
        admin_, p->shard,
        admin_.AddLearner(p->shard, p->new_id, address->second),
        [&](const v1::StatusResponse& s) {
          return FindMember(s, p->new_id) != nullptr;
        },
        options_));
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
  auto status = SteadyLeaderStatus(admin_, p->shard, options_);
  if (!status.ok()) return status.status();
  const v1::Member* m = FindMember(*status, p->new_id);
  if (m == nullptr) {
    return FailedPrecondition("replica " + std::to_string(p->new_id) +
                              " is no longer a member");
  }
  if (m->learner()) {
    SHARDKV_RETURN_IF_ERROR(MembershipChange(
        admin_, p->shard, admin_.Promote(p->shard, p->new_id),
        [&](const v1::StatusResponse& s) {
          const v1::Member* promoted = FindMember(s, p->new_id);
          return promoted != nullptr && !promoted->learner();
        },
        options_));
  }
  return Next(in, "remove-old");
}

StatusOr<Intent> Orchestrator::RrRemoveOld(const Intent& in) {
  auto p = Params(in);
  if (!p.ok()) return p.status();
  auto status = SteadyLeaderStatus(admin_, p->shard, options_);
  if (!status.ok()) return status.status();
  if (FindMember(*status, p->old_id) != nullptr) {
    SHARDKV_RETURN_IF_ERROR(MembershipChange(
        admin_, p->shard, admin_.RemoveMember(p->shard, p->old_id),
        [&](const v1::StatusResponse& s) {
          return FindMember(s, p->old_id) == nullptr;
        },
        options_));
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
    auto status = SteadyLeaderStatus(admin_, p->shard, options_);
    if (!status.ok()) return status.status();
    std::vector<v1::Member> members(status->members().begin(),
                                    status->members().end());
    auto joined = controller_.JoinShard(p->shard, members);
    if (!joined.ok()) return joined.status();
  }
  return Next(in, "");
}

}  // namespace shardkv::orchestration
