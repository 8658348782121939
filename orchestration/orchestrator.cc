// The workflow driver: intents, step dispatch, entry checks. The steps are
// in scale_steps.cc and replace_replica_steps.cc.
#include <algorithm>
#include <charconv>

#include "orchestration/param_util.h"
#include "orchestration/workflows.h"

namespace shardkv::orchestration {

Orchestrator::Orchestrator(Infrastructure& infrastructure,
                           ControllerApi& controller, ShardAdmin& admin,
                           IntentStore& intents, WorkflowOptions options)
    : infrastructure_(infrastructure),
      controller_(controller),
      admin_(admin),
      intents_(intents),
      options_(std::move(options)) {}

Status Orchestrator::ScaleOut(const std::vector<ShardId>& shards) {
  if (shards.empty()) return InvalidArgument("scale-out: no shard given");
  for (ShardId s : shards) {
    if (s == 0) return InvalidArgument("scale-out: shard id 0 is reserved");
  }
  return Start({kScaleOut, "create", {{"shards", FormatIds(shards)}}});
}

Status Orchestrator::ScaleIn(const std::vector<ShardId>& shards) {
  if (shards.empty()) return InvalidArgument("scale-in: no shard given");
  auto map = controller_.GetMap();
  if (!map.ok()) return map.status();
  int staying = 0;
  for (const v1::Shard& s : map->shards()) {
    bool leaving = std::count(shards.begin(), shards.end(), s.id()) > 0;
    if (!leaving && s.state() == v1::SHARD_ACTIVE) ++staying;
  }
  if (staying == 0) {
    return FailedPrecondition("scale-in: no ACTIVE shard would be left");
  }
  return Start({kScaleIn, "drain", {{"shards", FormatIds(shards)}}});
}

Status Orchestrator::ReplaceReplica(ShardId shard, ReplicaId old_replica) {
  auto status = admin_.LeaderStatus(shard);
  if (!status.ok()) return status.status();
  ReplicaId highest = old_replica;
  bool member = false;
  for (const v1::Member& m : status->members()) {
    highest = std::max<ReplicaId>(highest, m.id());
    member = member || m.id() == old_replica;
  }
  if (!member) {
    return NotFound("replica " + std::to_string(old_replica) +
                    " is not a member of shard " + std::to_string(shard));
  }
  // Leftovers of an earlier attempt keep their ids: never reuse one.
  if (auto running = infrastructure_.ShardReplicas(shard); running.ok()) {
    for (const v1::Member& m : *running) {
      highest = std::max<ReplicaId>(highest, m.id());
    }
  }
  return Start({kReplaceReplica,
                "create",
                {{"shard", std::to_string(shard)},
                 {"old", std::to_string(old_replica)},
                 {"new", std::to_string(highest + 1)}}});
}

Status Orchestrator::RollingUpgrade(const std::vector<ShardId>& shards) {
  if (shards.empty()) return InvalidArgument("rolling upgrade: no shard given");
  return Start({kRollingUpgrade, "plan", {{"shards", FormatIds(shards)}}});
}

Status Orchestrator::Resume() {
  auto recorded = intents_.Load();
  if (!recorded.ok()) return recorded.status();
  if (!recorded->has_value()) return Status::Ok();
  return Run(**recorded);
}

Status Orchestrator::Start(const Intent& first) {
  auto recorded = intents_.Load();
  if (!recorded.ok()) return recorded.status();
  if (recorded->has_value()) {
    const Intent& other = **recorded;
    return FailedPrecondition("a " + other.workflow + " is in progress (step " +
                              other.step + "); resume it first");
  }
  return Run(first);
}

Status Orchestrator::Run(Intent intent) {
  cancelled_ = false;
  while (!intent.step.empty()) {
    Step step = Lookup(intent.workflow, intent.step);
    if (step == nullptr) {
      return InvalidArgument("unknown step '" + intent.step +
                             "' of workflow '" + intent.workflow + "'");
    }
    if (Aborting()) {
      return Status(Code::kAborted, intent.workflow + " stopped before step " +
                                        intent.step + "; it resumes later");
    }
    SHARDKV_RETURN_IF_ERROR(intents_.Save(intent));
    Report(intent, nullptr);
    auto next = (this->*step)(intent);
    if (!next.ok()) {
      Code code = Aborting() ? Code::kAborted : next.status().code();
      return Status(code, intent.workflow + " step " + intent.step + ": " +
                              next.status().message());
    }
    intent = std::move(*next);
  }
  SHARDKV_RETURN_IF_ERROR(intents_.Clear());
  if (cancelled_)
    return Status(Code::kCancelled, intent.workflow + " cancelled");
  return Status::Ok();
}

Orchestrator::Step Orchestrator::Lookup(const std::string& workflow,
                                        const std::string& step) const {
  static const std::map<std::pair<std::string, std::string>, Step> kSteps = {
      {{kScaleOut, "create"}, &Orchestrator::OutCreate},
      {{kScaleOut, "wait-ready"}, &Orchestrator::OutWaitReady},
      {{kScaleOut, "join"}, &Orchestrator::OutJoin},
      {{kScaleOut, "rebalance"}, &Orchestrator::OutRebalance},
      {{kScaleOut, "wait-balanced"}, &Orchestrator::OutWaitBalanced},
      {{kScaleIn, "drain"}, &Orchestrator::InDrain},
      {{kScaleIn, "wait-drained"}, &Orchestrator::InWaitDrained},
      {{kScaleIn, "cancel"}, &Orchestrator::InCancel},
      {{kScaleIn, "remove"}, &Orchestrator::InRemove},
      {{kScaleIn, "delete"}, &Orchestrator::InDelete},
      {{kReplaceReplica, "create"}, &Orchestrator::RrCreate},
      {{kReplaceReplica, "add-learner"}, &Orchestrator::RrAddLearner},
      {{kReplaceReplica, "catch-up"}, &Orchestrator::RrCatchUp},
      {{kReplaceReplica, "promote"}, &Orchestrator::RrPromote},
      {{kReplaceReplica, "remove-old"}, &Orchestrator::RrRemoveOld},
      {{kReplaceReplica, "delete-old"}, &Orchestrator::RrDeleteOld},
      {{kReplaceReplica, "update-map"}, &Orchestrator::RrUpdateMap},
      {{kRollingUpgrade, "plan"}, &Orchestrator::UpPlan},
      {{kRollingUpgrade, "move-leader"}, &Orchestrator::UpMoveLeader},
      {{kRollingUpgrade, "restart"}, &Orchestrator::UpRestart},
      {{kRollingUpgrade, "wait-ready"}, &Orchestrator::UpWaitReady},
  };
  auto it = kSteps.find({workflow, step});
  return it == kSteps.end() ? nullptr : it->second;
}

void Orchestrator::Report(const Intent& intent, const v1::SlotMap* map) {
  if (!options_.on_progress) return;
  Progress p;
  p.workflow = intent.workflow;
  p.step = intent.step;
  if (map != nullptr) {
    uint64_t base_slots = ParamU64(intent, "base-slots");
    uint64_t base_bytes = ParamU64(intent, "base-bytes");
    const v1::MigrationTotals& t = map->totals();
    p.slots_moved =
        t.slots_moved() > base_slots ? t.slots_moved() - base_slots : 0;
    p.bytes_moved =
        t.bytes_moved() > base_bytes ? t.bytes_moved() - base_bytes : 0;
    uint64_t in_flight = 0;
    for (const v1::Migration& m : map->migrations()) {
      // A migration moves a batch of slots (`slots`); one written before
      // batches has only `slot`.
      in_flight += std::max(1, m.slots_size());
      p.bytes_moved += m.bytes_copied();
    }
    p.in_flight = in_flight;
    p.slots_total =
        std::max(ParamU64(intent, "planned"), p.slots_moved + in_flight);
  }
  options_.on_progress(p);
}

bool Orchestrator::Aborting() const {
  return options_.abort_requested && options_.abort_requested();
}

WaitOptions Orchestrator::MapWait(const Intent& intent, bool cancellable) {
  WaitOptions wait;
  wait.timeout = options_.map_timeout;
  wait.poll_interval = options_.poll_interval;
  wait.on_map = [this, intent](const v1::SlotMap& map) {
    Report(intent, &map);
  };
  wait.stop = [this, cancellable] {
    return Aborting() || (cancellable && options_.cancel_requested &&
                          options_.cancel_requested());
  };
  return wait;
}

std::string FormatIds(const std::vector<ShardId>& ids) {
  std::string out;
  for (ShardId id : ids) {
    if (!out.empty()) out += ',';  // (GCC 12 -Wrestrict: no "" + string)
    out += std::to_string(id);
  }
  return out;
}

StatusOr<std::vector<ShardId>> ParseIds(const std::string& text) {
  std::vector<ShardId> ids;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = std::min(text.find(',', start), text.size());
    ShardId id = 0;
    auto [end, ec] =
        std::from_chars(text.data() + start, text.data() + comma, id);
    if (ec != std::errc() || end != text.data() + comma || id == 0) {
      return InvalidArgument("'" + text + "' is not a list of shard ids");
    }
    ids.push_back(id);
    start = comma + 1;
  }
  if (ids.empty()) return InvalidArgument("empty shard list");
  return ids;
}

}  // namespace shardkv::orchestration
