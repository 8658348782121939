#include "operator/kube/leader_election.h"

#include <pthread.h>

#include "common/log.h"
#include "operator/kube/timestamps.h"

namespace shardkv::kube {
namespace {

const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};

// What must change for a lease to count as renewed.
std::string RecordOf(const Json& spec) {
  return spec.value("holderIdentity", "") + "|" + spec.value("renewTime", "") +
         "|" + std::to_string(spec.value("leaseTransitions", 0));
}

}  // namespace

LeaderElector::LeaderElector(KubeClient* client, LeaderElectionConfig config)
    : client_(client),
      config_(std::move(config)),
      path_(
          ResourcePath(kLeases, config_.lease_namespace, config_.lease_name)) {}

LeaderElector::~LeaderElector() { Stop(); }

StatusOr<bool> LeaderElector::TryAcquireOrRenew(Clock::time_point now) {
  const std::string wall_now =
      FormatMicroTime(std::chrono::system_clock::now());
  const int duration_seconds = static_cast<int>(config_.lease_duration.count());
  StatusOr<Json> lease = client_->Get(path_);
  if (!lease.ok() && lease.status().code() != Code::kNotFound) {
    return lease.status();
  }
  if (!lease.ok()) {
    Json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata",
                   {{"name", config_.lease_name},
                    {"namespace", config_.lease_namespace}}},
                  {"spec",
                   {{"holderIdentity", config_.identity},
                    {"leaseDurationSeconds", duration_seconds},
                    {"acquireTime", wall_now},
                    {"renewTime", wall_now},
                    {"leaseTransitions", 0}}}};
    StatusOr<Json> created =
        client_->Create(ResourcePath(kLeases, config_.lease_namespace), fresh);
    if (!created.ok()) {
      if (created.status().code() == Code::kAlreadyExists) return false;
      return created.status();
    }
    observed_record_ = RecordOf((*created)["spec"]);
    observed_at_ = now;
    last_renew_ = now;
    return true;
  }

  Json spec = lease->value("spec", Json::object());
  const std::string record = RecordOf(spec);
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = now;
  }
  const std::string holder = spec.value("holderIdentity", "");
  const bool mine = holder == config_.identity;
  const auto held_for = std::chrono::seconds(
      spec.value("leaseDurationSeconds", duration_seconds));
  const bool expired = holder.empty() || observed_at_ + held_for <= now;
  if (!mine && !expired) return false;

  if (!mine) {
    spec["acquireTime"] = wall_now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = duration_seconds;
  spec["renewTime"] = wall_now;
  Json updated = *lease;
  updated["spec"] = spec;  // keeps metadata.resourceVersion: a CAS
  StatusOr<Json> written = client_->Replace(path_, updated);
  if (!written.ok()) {
    // Someone else wrote first: they won this round.
    if (written.status().code() == Code::kAborted) return false;
    return written.status();
  }
  observed_record_ = RecordOf((*written)["spec"]);
  observed_at_ = now;
  last_renew_ = now;
  return true;
}

void LeaderElector::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "leader-elect");
    Run();
  });
}

void LeaderElector::Run() {
  while (true) {
    const Clock::time_point now = Clock::now();
    StatusOr<bool> held = TryAcquireOrRenew(now);
    if (!held.ok()) {
      SHARDKV_LOG(kWarning)
          << "lease " << config_.lease_name << ": " << held.status().message();
    }
    const bool holding = held.ok() && *held;
    if (holding && !leader_) {
      SHARDKV_LOG(kInfo) << config_.identity << " became leader";
      leader_ = true;
      if (config_.on_started_leading) config_.on_started_leading();
    } else if (!holding && leader_) {
      // A failed renewal is retried until the renew deadline; losing the
      // lease to another holder ends leadership at once.
      const bool lost =
          held.ok() || now - last_renew_ >= config_.renew_deadline;
      if (lost) {
        SHARDKV_LOG(kWarning) << config_.identity << " lost leadership";
        leader_ = false;
        if (config_.on_stopped_leading) config_.on_stopped_leading();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, config_.retry_period,
                     [this] { return stopping_; })) {
      break;
    }
  }
  if (leader_) {
    Status released = Release();
    if (!released.ok()) {
      SHARDKV_LOG(kWarning) << "lease release: " << released.message();
    }
    leader_ = false;
    if (config_.on_stopped_leading) config_.on_stopped_leading();
  }
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Status LeaderElector::Release() {
  StatusOr<Json> lease = client_->Get(path_);
  if (!lease.ok()) return lease.status();
  Json& spec = (*lease)["spec"];
  if (spec.value("holderIdentity", "") != config_.identity) return Status::Ok();
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = FormatMicroTime(std::chrono::system_clock::now());
  return client_->Replace(path_, *lease).status();
}

}  // namespace shardkv::kube
