#include "operator/reconciler.h"

#include <algorithm>
#include <cstdlib>

#include "common/log.h"
#include "operator/cluster_status.h"
#include "operator/decide.h"
#include "operator/desired_objects.h"
#include "operator/kube/timestamps.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

const kube::Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs", true};

kube::Resource ResourceOf(const Json& object) {
  const std::string kind = object.value("kind", "");
  if (kind == "StatefulSet") return {"apps", "v1", "statefulsets", true};
  if (kind == "Service") return {"", "v1", "services", true};
  return {"policy", "v1", "poddisruptionbudgets", true};
}

// The cluster's own objects from an informer cache.
std::vector<Json> OwnedBy(const kube::Informer* informer, const ShardedKV& kv) {
  std::vector<Json> out;
  for (Json& object : informer->List()) {
    const Json meta = object.value("metadata", Json::object());
    if (meta.value("namespace", "") != kv.ns) continue;
    if (meta.value("labels", Json::object()).value(kClusterLabel, "") !=
        kv.name) {
      continue;
    }
    out.push_back(std::move(object));
  }
  return out;
}

// Back-off before retrying a failed workflow: 5 s doubling to 5 min.
milliseconds RetryDelay(int failures) {
  milliseconds delay(5000);
  for (int i = 1; i < failures && delay < std::chrono::minutes(5); ++i) {
    delay *= 2;
  }
  return std::min<milliseconds>(delay, std::chrono::minutes(5));
}

std::string PodName(const ShardedKV& kv, ShardId shard, int ordinal) {
  std::string set =
      shard == 0 ? ControllerSetName(kv) : ShardSetName(kv, shard);
  return set + "-" + std::to_string(ordinal);
}

// A new operator (or a new leader) continues the unready clocks of the
// last one from status.unready instead of starting them again.
void SeedUnready(UnreadyTracker& tracker, const ShardedKV& kv,
                 const Json& object) {
  const auto system_now = std::chrono::system_clock::now();
  const auto steady_now = SteadyClock::now();
  const Json status = object.value("status", Json::object());
  for (const Json& entry : status.value("unready", Json::array())) {
    if (!entry.is_object()) continue;
    auto since = kube::ParseTime(entry.value("since", ""));
    if (!since.has_value() || *since > system_now) continue;
    tracker.Seed(UnreadyKey(kv, entry.value("pod", ""), entry.value("uid", "")),
                 steady_now - std::chrono::duration_cast<SteadyClock::duration>(
                                  system_now - *since));
  }
}

}  // namespace

Reconciler::Reconciler(ReconcilerContext context)
    : context_(std::move(context)) {}

Reconciler::~Reconciler() {
  AbortAll();
  std::lock_guard<std::mutex> lock(mu_);
  clusters_.clear();
}

void Reconciler::AbortAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, cluster] : clusters_) {
    if (cluster->runner) cluster->runner->RequestAbort();
  }
  for (auto& [key, cluster] : clusters_) {
    if (cluster->runner) cluster->runner->Join();
  }
}

void Reconciler::Remove(const std::string& key) {
  std::unique_ptr<Cluster> gone;
  auto it = clusters_.find(key);
  if (it == clusters_.end()) return;
  gone = std::move(it->second);
  clusters_.erase(it);
  // The runner's destructor aborts and joins; then the backend goes.
  gone->runner.reset();
}

StatusOr<Reconciler::Cluster*> Reconciler::ClusterFor(const std::string& key,
                                                      const ShardedKV& kv,
                                                      const Json& object) {
  auto it = clusters_.find(key);
  if (it != clusters_.end() && it->second->uid == kv.uid) {
    it->second->backend->UpdateSpec(kv);
    return it->second.get();
  }
  Remove(key);  // deleted and created again under the same name
  auto backend = context_.backend_factory(kv);
  if (!backend.ok()) return backend.status();
  auto cluster = std::make_unique<Cluster>();
  cluster->uid = kv.uid;
  cluster->reference = {
      {"apiVersion", kApiVersion},
      {"kind", kKind},
      {"metadata", {{"name", kv.name}, {"namespace", kv.ns}, {"uid", kv.uid}}}};
  cluster->backend = std::move(*backend);
  Json reference = cluster->reference;
  cluster->runner = std::make_unique<WorkflowRunner>(
      kv.name, *cluster->backend, context_.workflow,
      [this, key, reference](const WorkflowRequest& request,
                             const Status& result) {
        OnWorkflowDone(key, reference, request, result);
      });
  SeedUnready(cluster->unready, kv, object);
  Cluster* raw = cluster.get();
  clusters_[key] = std::move(cluster);
  return raw;
}

Status Reconciler::ApplyControlObjects(const ShardedKV& kv) {
  const Json controller =
      context_.controller_set
          ? context_.controller_set(kv, context_.default_image)
          : ControllerStatefulSet(kv, context_.default_image);
  const Json objects[] = {ControllerService(kv), controller, ClientService(kv)};
  for (const Json& object : objects) {
    const std::string path = kube::ResourcePath(ResourceOf(object), kv.ns,
                                                object["metadata"]["name"]);
    auto applied = context_.client->Apply(path, object, kFieldManager);
    if (!applied.ok()) return applied.status();
  }
  return Status::Ok();
}

Observation Reconciler::Observe(Cluster& cluster, const ShardedKV& kv) {
  Observation o;
  o.spec = kv;
  o.desired_image = kv.image.empty() ? context_.default_image : kv.image;
  o.now = std::chrono::system_clock::now();
  o.workflow = cluster.runner->Observe();

  auto map = cluster.backend->ObserveMap();
  if (map.ok()) {
    o.map = std::move(*map);
  } else {
    o.map_error = map.status().ToString();
  }
  auto intent = cluster.backend->intents().Load();
  if (intent.ok()) {
    o.intent = *intent;
  } else {
    SHARDKV_LOG(kWarning) << kv.ns << "/" << kv.name
                          << ": reading the recorded workflow: "
                          << intent.status().ToString();
  }

  const std::vector<Json> sets = OwnedBy(context_.sets, kv);
  const std::vector<Json> pods = OwnedBy(context_.pods, kv);
  o.shards = ObserveShards(kv, sets, pods, o.map ? &*o.map : nullptr,
                           cluster.unready, SteadyClock::now());
  o.controller =
      ObserveController(kv, pods, cluster.unready, SteadyClock::now());
  cluster.unready.ForgetUnseen();
  o.controller_replicas = kv.controller_replicas;
  o.controller_ready = ControllerReadyReplicas(kv, pods);
  o.controller_outdated = ControllerOutdated(kv, pods, o.desired_image);
  if (o.map.has_value()) {
    auto leader = cluster.backend->ObserveLeaderOrdinal(0);
    if (leader.ok()) o.controller_leader = PodName(kv, 0, *leader);
  }
  // Ask only shards that can have a leader: a dead shard would cost a
  // timeout on every reconcile.
  for (ShardObservation& s : o.shards) {
    if (!s.in_map || !s.HasQuorum()) continue;
    auto leader = cluster.backend->ObserveLeaderOrdinal(s.id);
    if (leader.ok()) s.leader_pod = PodName(kv, s.id, *leader);
  }
  // A replacement resumed after a restart: name its pod from the intent.
  if (o.intent.has_value() &&
      o.intent->workflow == orchestration::kReplaceReplica &&
      o.workflow.replacing_pod.empty()) {
    const auto& params = o.intent->params;
    auto shard = params.find("shard");
    if (shard != params.end()) {
      const ShardId id = std::strtoul(shard->second.c_str(), nullptr, 10);
      o.workflow.replacing_shard = id;
      // The old id holds the pod until the create step gives it the new.
      for (const char* which : {"old", "new"}) {
        auto replica = params.find(which);
        if (replica == params.end()) continue;
        auto ordinal = cluster.backend->OrdinalOf(
            id, std::strtoull(replica->second.c_str(), nullptr, 10));
        if (!ordinal.ok()) continue;
        o.workflow.replacing_pod = PodName(kv, id, *ordinal);
        break;
      }
    }
  }
  return o;
}

Status Reconciler::StartWorkflow(Cluster& cluster, const ShardedKV& kv,
                                 const Observation& o,
                                 const Decision& decision) {
  WorkflowRequest request;
  request.decision = decision;
  request.workflow = decision.action == Action::kResume
                         ? o.intent->workflow
                         : WorkflowName(decision.action);
  if (decision.action == Action::kReplaceReplica) {
    auto id = cluster.backend->ReplicaIdAt(decision.shard, decision.ordinal);
    if (!id.ok()) return id.status();
    request.replica = *id;
    request.pod = PodName(kv, decision.shard, decision.ordinal);
  }
  SHARDKV_RETURN_IF_ERROR(cluster.runner->Start(request));
  SHARDKV_LOG(kInfo) << kv.ns << "/" << kv.name << ": " << request.workflow
                     << " started: " << decision.reason;
  Status recorded =
      context_.events->Record(cluster.reference, "Normal", "WorkflowStarted",
                              request.workflow + ": " + decision.reason);
  if (!recorded.ok()) SHARDKV_LOG(kWarning) << "event: " << recorded.ToString();
  return Status::Ok();
}

void Reconciler::OnWorkflowDone(const std::string& key, const Json& reference,
                                const WorkflowRequest& request,
                                const Status& result) {
  std::string type = "Normal", reason = "WorkflowSucceeded";
  std::string message = request.workflow + " finished";
  if (result.code() == Code::kCancelled) {
    reason = "ScaleInCancelled";
    message = request.workflow + " cancelled: spec.shards went back up";
  } else if (result.code() == Code::kAborted) {
    reason = "WorkflowPaused";
    message = request.workflow +
              " stopped (operator shutting down or not "
              "leading); it resumes from its recorded step";
  } else if (!result.ok()) {
    type = "Warning";
    reason = "WorkflowFailed";
    message = request.workflow + " failed: " + result.ToString();
  }
  SHARDKV_LOG(kInfo) << key << ": " << message;
  Status recorded = context_.events->Record(reference, type, reason, message);
  if (!recorded.ok()) SHARDKV_LOG(kWarning) << "event: " << recorded.ToString();
  if (context_.enqueue) context_.enqueue(key);
}

void Reconciler::ReportWait(Cluster& cluster, const Decision& decision) {
  // Only a replacement held back is worth an Event (other waits are short:
  // a controller starting, a retry's back-off).
  if (!decision.replacement_blocked) {
    cluster.reported_wait.clear();
    return;
  }
  if (decision.reason == cluster.reported_wait) return;
  cluster.reported_wait = decision.reason;
  Status recorded = context_.events->Record(
      cluster.reference, "Warning", "ReplacementBlocked", decision.reason);
  if (!recorded.ok()) SHARDKV_LOG(kWarning) << "event: " << recorded.ToString();
}

Status Reconciler::WriteStatus(const ShardedKV& kv, const Json& object,
                               const Json& status) {
  Json current = object.value("status", Json::object());
  current.erase("workflow");
  if (current == status) return Status::Ok();
  Json body = {{"apiVersion", kApiVersion},
               {"kind", kKind},
               {"metadata", {{"name", kv.name}, {"namespace", kv.ns}}},
               {"status", status}};
  auto applied = context_.client->Apply(
      kube::ResourcePath(kShardedKVs, kv.ns, kv.name, "status"), body,
      kFieldManager);
  return applied.status();
}

StatusOr<milliseconds> Reconciler::Reconcile(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (context_.leading && !context_.leading()) return context_.resync;
  std::optional<Json> object = context_.clusters->Get(key);
  if (!object.has_value()) {
    Remove(key);  // deleted: owner references let the GC take the rest
    return context_.resync;
  }
  auto kv = ParseShardedKV(*object);
  if (!kv.ok()) {
    // A spec the CRD's rules should have refused: say so, do not retry
    // until it changes.
    Json reference = {{"apiVersion", kApiVersion},
                      {"kind", kKind},
                      {"metadata", (*object)["metadata"]}};
    (void)context_.events->Record(reference, "Warning", "InvalidSpec",
                                  kv.status().message());
    return milliseconds(std::chrono::minutes(5));
  }
  auto cluster = ClusterFor(key, *kv, *object);
  if (!cluster.ok()) return cluster.status();
  Cluster& c = **cluster;

  // The controller pods read their Raft ids from this record.
  SHARDKV_RETURN_IF_ERROR(c.backend->EnsureControllerIdentity());
  SHARDKV_RETURN_IF_ERROR(ApplyControlObjects(*kv));
  Observation o = Observe(c, *kv);
  const std::string active = o.workflow.running     ? o.workflow.workflow
                             : o.intent.has_value() ? o.intent->workflow
                                                    : "";
  if (active != orchestration::kReplaceReplica && o.controller.replicas > 0 &&
      o.controller.ReadyReplicas() == o.controller.replicas) {
    // Ready controller pods have run: an empty disk under their ids is a
    // lost one. Not during a replacement, which changes the record and
    // settles the id it adds itself.
    Status settled = c.backend->SettleControllerIdentity();
    if (!settled.ok()) {
      SHARDKV_LOG(kWarning)
          << key << ": controller identity record: " << settled.ToString();
    }
  }
  Decision decision = Decide(o);

  if (o.workflow.running && o.intent.has_value() &&
      o.intent->workflow == orchestration::kScaleIn) {
    auto leaving = orchestration::ParseIds(o.intent->params["shards"]);
    if (leaving.ok()) {
      c.runner->SetCancelWanted(ScaleInCancelWanted(o, *leaving));
    }
  }

  milliseconds next = context_.resync;
  if (decision.StartsWorkflow()) {
    const milliseconds backoff = RetryDelay(o.workflow.consecutive_failures);
    const auto retry_at = o.workflow.finished_at + backoff;
    if (o.workflow.consecutive_failures > 0 && SteadyClock::now() < retry_at) {
      decision.reason = "retrying after the failure of " +
                        o.workflow.last_workflow + ": " + decision.reason;
      decision.action = Action::kWait;
      next = std::chrono::duration_cast<milliseconds>(retry_at -
                                                      SteadyClock::now());
    } else {
      Status started = StartWorkflow(c, *kv, o, decision);
      if (!started.ok()) {
        SHARDKV_LOG(kWarning)
            << key << ": starting " << ActionName(decision.action) << ": "
            << started.ToString();
        return started;
      }
      o.workflow = c.runner->Observe();
      if (decision.action == Action::kResume &&
          o.intent->workflow == orchestration::kScaleIn) {
        auto leaving = orchestration::ParseIds(o.intent->params["shards"]);
        if (leaving.ok()) {
          c.runner->SetCancelWanted(ScaleInCancelWanted(o, *leaving));
        }
      }
    }
  }
  if (o.workflow.running) next = std::min(next, context_.busy_resync);
  ReportWait(c, decision);

  Json status = ComputeStatus(o, decision, object->value("status", Json()));
  SHARDKV_RETURN_IF_ERROR(WriteStatus(*kv, *object, status));
  return next;
}

}  // namespace shardkv::op
