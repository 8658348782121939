#include "operator/backend/kube_infrastructure.h"

#include <algorithm>
#include <random>
#include <thread>

#include "operator/backend/identity_record.h"
#include "operator/backend/kube_objects.h"
#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

using orchestration::ReplicaId;
using orchestration::ShardId;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{250};
constexpr milliseconds kObjectTimeout{120'000};

std::string NewIncarnation() {
  std::random_device random;
  uint64_t value = (static_cast<uint64_t>(random()) << 32) ^ random();
  char text[17];
  snprintf(text, sizeof(text), "%016llx",
           static_cast<unsigned long long>(value));
  return text;
}

// Shard 0 is the controller group: its StatefulSet and identity record.
std::string SetNameOf(const ShardedKV& kv, ShardId shard) {
  return shard == 0 ? ControllerSetName(kv) : ShardSetName(kv, shard);
}

std::string IdentityNameOf(const ShardedKV& kv, ShardId shard) {
  return shard == 0 ? ControllerIdentityName(kv) : ShardIdentityName(kv, shard);
}

int ReplicasOf(const ShardedKV& kv, ShardId shard) {
  return shard == 0 ? kv.controller_replicas : kv.replicas_per_shard;
}

}  // namespace

KubeInfrastructure::KubeInfrastructure(kube::KubeClient& client, ShardedKV kv,
                                       const PodAddresses& addresses,
                                       std::string default_image)
    : client_(client),
      addresses_(addresses),
      default_image_(std::move(default_image)),
      kv_(std::move(kv)) {}

void KubeInfrastructure::UpdateSpec(ShardedKV kv) {
  std::lock_guard lock(mu_);
  kv_ = std::move(kv);
}

ShardedKV KubeInfrastructure::spec() const {
  std::lock_guard lock(mu_);
  return kv_;
}

std::vector<std::string> KubeInfrastructure::ShardEndpoints(
    ShardId shard) const {
  const ShardedKV kv = spec();
  std::vector<std::string> endpoints;
  for (int i = 0; i < ReplicasOf(kv, shard); ++i) {
    endpoints.push_back(addresses_.Address(kv, SetNameOf(kv, shard), i));
  }
  return endpoints;
}

StatusOr<IdentityRecord> KubeInfrastructure::Identity(ShardId shard) {
  const ShardedKV kv = spec();
  auto map = client_.Get(
      kube::ResourcePath(kConfigMaps, kv.ns, IdentityNameOf(kv, shard)));
  if (!map.ok()) return map.status();
  return ParseIdentityRecord(map->value("data", Json::object()));
}

Status KubeInfrastructure::UpdateIdentity(
    ShardId shard, const std::function<Status(IdentityRecord&)>& change) {
  const ShardedKV kv = spec();
  const std::string path =
      kube::ResourcePath(kConfigMaps, kv.ns, IdentityNameOf(kv, shard));
  for (int attempt = 0;; ++attempt) {
    auto map = client_.Get(path);
    if (!map.ok()) return map.status();
    auto record = ParseIdentityRecord(map->value("data", Json::object()));
    if (!record.ok()) return record.status();
    SHARDKV_RETURN_IF_ERROR(change(*record));
    (*map)["data"] = record->ToData();
    auto replaced = client_.Replace(path, *map);  // resourceVersion checked
    if (replaced.ok()) return Status::Ok();
    if (replaced.status().code() != Code::kAborted || attempt >= 5) {
      return replaced.status();
    }
  }
}

StatusOr<orchestration::ReplicaId> KubeInfrastructure::ReplicaIdAt(
    ShardId shard, int ordinal) {
  auto record = Identity(shard);
  if (!record.ok()) return record.status();
  auto it = record->ids.find(ordinal);
  if (it == record->ids.end()) {
    return NotFound(SetNameOf(spec(), shard) + " has no pod " +
                    std::to_string(ordinal));
  }
  return it->second;
}

StatusOr<int> KubeInfrastructure::OrdinalOf(ShardId shard, ReplicaId id) {
  auto record = Identity(shard);
  if (!record.ok()) return record.status();
  auto ordinal = record->OrdinalOf(id);
  if (!ordinal) {
    return NotFound("no pod of " + SetNameOf(spec(), shard) + " runs Raft id " +
                    std::to_string(id));
  }
  return *ordinal;
}

Status KubeInfrastructure::CreateIdentityRecord(const ShardedKV& kv,
                                                ShardId shard, int replicas) {
  Json map = IdentityConfigMap(
      kv, static_cast<int>(shard),
      IdentityRecord::Initial(replicas, NewIncarnation()).ToData());
  auto created = client_.Create(kube::ResourcePath(kConfigMaps, kv.ns), map);
  if (!created.ok() && created.status().code() != Code::kAlreadyExists) {
    return created.status();
  }
  return Status::Ok();
}

StatusOr<std::vector<v1::Member>> KubeInfrastructure::CreateShard(
    ShardId shard) {
  const ShardedKV kv = spec();
  auto record = Identity(shard);
  if (record.status().code() == Code::kNotFound) {
    // PVCs without a record are a scale-in's retained disks of an earlier
    // shard with this id: its data is drained, and its identities must
    // never start again, so the claims go before the new shard's pods.
    SHARDKV_RETURN_IF_ERROR(DeleteClaims(kv, shard, /*wait=*/true));
    SHARDKV_RETURN_IF_ERROR(
        CreateIdentityRecord(kv, shard, kv.replicas_per_shard));
  } else if (!record.ok()) {
    return record.status();
  }
  SHARDKV_RETURN_IF_ERROR(ApplyShardObjects(kv, shard));
  return ShardReplicas(shard);
}

Status KubeInfrastructure::ApplyShardObjects(const ShardedKV& kv,
                                             ShardId shard) {
  const std::string name = ShardSetName(kv, shard);
  SHARDKV_RETURN_IF_ERROR(ApplyObject(client_, ShardService(kv, shard)));
  SHARDKV_RETURN_IF_ERROR(ApplyObject(
      client_, ShardStatefulSet(kv, shard, default_image_, addresses_)));
  return ApplyObject(client_, ShardDisruptionBudget(kv, shard));
}

Status KubeInfrastructure::DeleteShard(ShardId shard) {
  const ShardedKV kv = spec();
  const std::string name = ShardSetName(kv, shard);
  for (const auto& [resource, object] :
       {std::pair{kStatefulSets, name}, std::pair{kServices, name},
        std::pair{kDisruptionBudgets, name}}) {
    Status s = client_.Delete(kube::ResourcePath(resource, kv.ns, object));
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  // The garbage collector would remove the pods of the deleted set; not
  // waiting for it keeps a node from serving a shard that is gone.
  SHARDKV_RETURN_IF_ERROR(DeletePods(kv, shard));
  if (!kv.retain_on_scale_in) {
    SHARDKV_RETURN_IF_ERROR(DeleteClaims(kv, shard, /*wait=*/false));
  }
  // Last: while the record exists, a retry of this deletion finds it.
  Status s = client_.Delete(
      kube::ResourcePath(kConfigMaps, kv.ns, ShardIdentityName(kv, shard)));
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

StatusOr<std::vector<v1::Member>> KubeInfrastructure::ShardReplicas(
    ShardId shard) {
  const ShardedKV kv = spec();
  auto record = Identity(shard);
  if (!record.ok()) return record.status();
  std::vector<v1::Member> members;
  for (const auto& [ordinal, id] : record->ids) {
    v1::Member m;
    m.set_id(id);
    m.set_address(addresses_.Address(kv, SetNameOf(kv, shard), ordinal));
    members.push_back(m);
  }
  return members;
}

Status KubeInfrastructure::WaitShardReady(ShardId shard, milliseconds timeout) {
  const ShardedKV kv = spec();
  const int replicas = ReplicasOf(kv, shard);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no pod listed yet";
  while (true) {
    auto pods = ListShardPods(client_, kv, shard);
    if (pods.ok()) {
      int ready = 0;
      for (const Json& pod : *pods) ready += PodReady(pod) ? 1 : 0;
      if (ready == replicas && static_cast<int>(pods->size()) == ready) {
        return SettleFresh(shard);
      }
      last = std::to_string(ready) + " of " + std::to_string(replicas) +
             " pods ready";
    } else {
      last = pods.status().ToString();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kDeadlineExceeded,
                    "shard " + std::to_string(shard) + " not ready: " + last);
    }
    std::this_thread::sleep_for(kPoll);
  }
}

Status KubeInfrastructure::SettleFresh(ShardId shard) {
  const ShardedKV kv = spec();
  auto pods = ListShardPods(client_, kv, shard);
  if (!pods.ok()) return pods.status();
  std::set<int> ready;
  for (const Json& pod : *pods) {
    if (auto ordinal = PodOrdinal(pod); ordinal && PodReady(pod)) {
      ready.insert(*ordinal);
    }
  }
  auto current = Identity(shard);
  if (!current.ok()) return current.status();
  bool settles = false;
  for (int ordinal : ready) {
    auto id = current->ids.find(ordinal);
    settles = settles ||
              (id != current->ids.end() && !current->wipes.count(ordinal) &&
               current->fresh.count(id->second));
  }
  if (!settles) {
    if (shard == 0 && current->fresh.empty()) controller_settled_ = true;
    return Status::Ok();  // nothing to write
  }
  return UpdateIdentity(shard, [&](IdentityRecord& record) {
    // A ready pod got past the script's identity check: its disk holds its
    // identity, so an empty disk under that id means a lost one.
    for (int ordinal : ready) {
      if (record.wipes.count(ordinal)) continue;
      record.fresh.erase(record.ids[ordinal]);
    }
    return Status::Ok();
  });
}

StatusOr<v1::Member> KubeInfrastructure::CreateReplica(ShardId shard,
                                                       ReplicaId id,
                                                       ReplicaId replaces) {
  const ShardedKV kv = spec();
  auto record = Identity(shard);
  if (!record.ok()) return record.status();
  std::optional<int> ordinal = record->OrdinalOf(id);
  if (!ordinal) {
    ordinal = record->OrdinalOf(replaces);
    if (!ordinal) {
      return FailedPrecondition("replica " + std::to_string(replaces) + " of " +
                                SetNameOf(kv, shard) +
                                " is at no pod: nothing to replace");
    }
    if (shard == 0) controller_settled_ = false;  // a new fresh id
    // Recorded first: a retry after a crash finishes the wipe.
    SHARDKV_RETURN_IF_ERROR(UpdateIdentity(shard, [&](IdentityRecord& r) {
      r.ids[*ordinal] = id;
      r.fresh.insert(id);
      r.wipes[*ordinal] = id;
      return Status::Ok();
    }));
    record = Identity(shard);
    if (!record.ok()) return record.status();
  }
  if (record->wipes.count(*ordinal)) {
    // The old identity's disk and pod go; the StatefulSet brings the pod
    // back on a new, empty claim, where the script starts the new id.
    SHARDKV_RETURN_IF_ERROR(WipeOrdinal(kv, shard, *ordinal));
    SHARDKV_RETURN_IF_ERROR(UpdateIdentity(shard, [&](IdentityRecord& r) {
      r.wipes.erase(*ordinal);
      return Status::Ok();
    }));
  }
  v1::Member m;
  m.set_id(id);
  m.set_address(addresses_.Address(kv, SetNameOf(kv, shard), *ordinal));
  return m;
}

Status KubeInfrastructure::WipeOrdinal(const ShardedKV& kv, ShardId shard,
                                       int ordinal) {
  const std::string pod = SetNameOf(kv, shard) + "-" + std::to_string(ordinal);
  const std::string claim = std::string(kDataVolume) + "-" + pod;
  const std::string claim_path = kube::ResourcePath(kClaims, kv.ns, claim);
  auto old_claim = client_.Get(claim_path);
  Status s = client_.Delete(claim_path);
  if (!s.ok() && s.code() != Code::kNotFound) return s;
  SHARDKV_RETURN_IF_ERROR(
      DeletePodAndWait(client_, kv.ns, pod, kObjectTimeout));
  if (!old_claim.ok()) return Status::Ok();
  // Gone, or replaced by a new claim: the old disk can never come back.
  return WaitGone(client_, claim_path, UidOf(*old_claim), kObjectTimeout);
}

Status KubeInfrastructure::DeleteReplica(ShardId shard, ReplicaId id) {
  auto record = Identity(shard);
  if (record.status().code() == Code::kNotFound) return Status::Ok();
  if (!record.ok()) return record.status();
  if (auto ordinal = record->OrdinalOf(id)) {
    return FailedPrecondition(
        "replica " + std::to_string(id) + " of " + SetNameOf(spec(), shard) +
        " is pod " + std::to_string(*ordinal) +
        "; a StatefulSet keeps its pods: replace the replica instead");
  }
  // Its pod and disk went when the replacement took its ordinal. The new
  // identity has run (it was promoted), but its id leaves `fresh` only
  // once its pod is Ready, which may lag: wait for that, so the record
  // never lets an empty disk start under an id that has run.
  const ShardedKV kv = spec();
  const auto deadline = std::chrono::steady_clock::now() + kObjectTimeout;
  while (true) {
    SHARDKV_RETURN_IF_ERROR(SettleFresh(shard));
    record = Identity(shard);
    if (!record.ok()) return record.status();
    std::string waiting;
    for (const auto& [ordinal, current] : record->ids) {
      if (record->fresh.count(current)) {
        waiting = SetNameOf(kv, shard) + "-" + std::to_string(ordinal) +
                  " (Raft id " + std::to_string(current) + ")";
      }
    }
    if (waiting.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kDeadlineExceeded,
                    "pod " + waiting + " is not ready: its id stays fresh");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

StatusOr<std::vector<ReplicaId>> KubeInfrastructure::ReplicasToUpgrade(
    ShardId shard) {
  const ShardedKV kv = spec();
  if (shard == 0) return ControllerReplicasToUpgrade(kv);
  auto record = Identity(shard);
  if (!record.ok()) return record.status();
  SHARDKV_RETURN_IF_ERROR(ApplyObject(
      client_, ShardStatefulSet(kv, shard, default_image_, addresses_)));
  auto revision =
      UpdateRevision(client_, kv.ns, ShardSetName(kv, shard), kObjectTimeout);
  if (!revision.ok()) return revision.status();
  auto pods = ListShardPods(client_, kv, shard);
  if (!pods.ok()) return pods.status();
  std::vector<ReplicaId> outdated;
  for (const Json& pod : *pods) {
    auto ordinal = PodOrdinal(pod);
    if (!ordinal || !record->ids.count(*ordinal)) continue;
    if (PodRevision(pod) != *revision) {
      outdated.push_back(record->ids.at(*ordinal));
    }
  }
  return outdated;
}

Status KubeInfrastructure::RestartReplica(ShardId shard, ReplicaId id) {
  const ShardedKV kv = spec();
  auto ordinal = OrdinalOf(shard, id);
  if (!ordinal.ok()) return ordinal.status();
  // updateStrategy OnDelete: the StatefulSet recreates the pod from the
  // current template, on the same claim.
  return DeletePodAndWait(client_, kv.ns,
                          SetNameOf(kv, shard) + "-" + std::to_string(*ordinal),
                          kObjectTimeout);
}

StatusOr<std::vector<ReplicaId>>
KubeInfrastructure::ControllerReplicasToUpgrade(const ShardedKV& kv) {
  // The reconciler applied the set from the spec before deciding.
  auto record = Identity(0);
  if (!record.ok()) return record.status();
  auto revision =
      UpdateRevision(client_, kv.ns, ControllerSetName(kv), kObjectTimeout);
  if (!revision.ok()) return revision.status();
  auto pods = ListShardPods(client_, kv, 0);
  if (!pods.ok()) return pods.status();
  std::vector<ReplicaId> outdated;
  for (const Json& pod : *pods) {
    auto ordinal = PodOrdinal(pod);
    if (!ordinal || !record->ids.count(*ordinal)) continue;
    if (PodRevision(pod) != *revision) {
      outdated.push_back(record->ids.at(*ordinal));
    }
  }
  std::sort(outdated.begin(), outdated.end());
  return outdated;
}

Status KubeInfrastructure::EnsureControllerIdentity() {
  if (controller_identity_exists_) return Status::Ok();
  const ShardedKV kv = spec();
  auto record = Identity(0);
  if (record.status().code() == Code::kNotFound) {
    // A new cluster, or one whose controller pods ran before controller
    // records existed (their disks are adopted under the initial ids).
    SHARDKV_RETURN_IF_ERROR(
        CreateIdentityRecord(kv, 0, kv.controller_replicas));
  } else if (!record.ok()) {
    return record.status();
  }
  controller_identity_exists_ = true;
  return Status::Ok();
}

Status KubeInfrastructure::SettleControllerIdentity() {
  if (controller_settled_) return Status::Ok();
  return SettleFresh(0);
}

Status KubeInfrastructure::DeletePods(const ShardedKV& kv, ShardId shard) {
  auto pods = ListShardPods(client_, kv, shard);
  if (!pods.ok()) return pods.status();
  for (const Json& pod : *pods) {
    SHARDKV_RETURN_IF_ERROR(DeletePodAndWait(
        client_, kv.ns, pod["metadata"].value("name", ""), kObjectTimeout));
  }
  return Status::Ok();
}

Status KubeInfrastructure::DeleteClaims(const ShardedKV& kv, ShardId shard,
                                        bool wait) {
  auto claims = ListShardClaims(client_, kv, shard);
  if (!claims.ok()) return claims.status();
  for (const Json& claim : *claims) {
    const std::string path =
        kube::ResourcePath(kClaims, kv.ns, claim["metadata"].value("name", ""));
    Status s = client_.Delete(path);
    if (!s.ok() && s.code() != Code::kNotFound) return s;
    if (wait) {
      SHARDKV_RETURN_IF_ERROR(
          WaitGone(client_, path, UidOf(claim), kObjectTimeout));
    }
  }
  return Status::Ok();
}

}  // namespace shardkv::op
