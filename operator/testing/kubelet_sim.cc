#include "operator/testing/kubelet_sim.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "client/cli/child_process.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "operator/backend/kube_objects.h"

namespace shardkv::op::testing {
namespace fs = std::filesystem;
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string Name(const Json& o) {
  return o.value("metadata", Json::object()).value("name", "");
}

Json Meta(const Json& o) { return o.value("metadata", Json::object()); }

// The sim's writes are best effort: a failed one is redone by the next
// sync, which compares again.
template <typename T>
void NextSyncRetries(const T&) {}

bool Deleting(const Json& o) { return Meta(o).contains("deletionTimestamp"); }

// What the StatefulSet controller calls the template's revision.
std::string Revision(const Json& set) {
  size_t hash = std::hash<std::string>()(
      set.value("spec", Json::object()).value("template", Json()).dump());
  char text[32];
  snprintf(text, sizeof(text), "%08zx", hash & 0xffffffffu);
  return Name(set) + "-" + text;
}

std::vector<Json> Items(const StatusOr<Json>& list) {
  std::vector<Json> items;
  if (!list.ok()) return items;
  for (const Json& item : list->value("items", Json::array())) {
    items.push_back(item);
  }
  return items;
}

bool Serving(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + milliseconds(300));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

struct KubeletSim::Pod {
  std::string name;
  std::string uid;
  Json object;  // the Pod as last listed
  std::unique_ptr<cli::ChildProcess> process;
  int restarts = 0;
  Clock::time_point next_start{};
  bool ready = false;
  int probe_failures = 0;  // consecutive failed readiness probes
  std::vector<std::string> claims;
  Json written_status;
};

KubeletSim::KubeletSim(kube::KubeClient& client,
                       const LoopbackPodAddresses& addresses,
                       KubeletSimOptions options)
    : client_(client), addresses_(addresses), options_(std::move(options)) {}

KubeletSim::~KubeletSim() { Stop(); }

Status KubeletSim::Start() {
  std::error_code ec;
  for (const char* sub : {"pvc", "volumes", "logs"}) {
    fs::create_directories(options_.work_dir + "/" + sub, ec);
    if (ec)
      return Internal("cannot create " + options_.work_dir + ": " +
                      ec.message());
  }
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "kubelet-sim");
  return Status::Ok();
}

void KubeletSim::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [name, pod] : pods_) StopPodLocked(*pod, /*kill=*/true);
  pods_.clear();
}

void KubeletSim::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    SyncOnceLocked();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stop_; });
  }
}

std::string KubeletSim::PvcDir(const std::string& claim_name) const {
  return options_.work_dir + "/pvc/" + claim_name;
}

std::string KubeletSim::LogPath(const std::string& pod_name) const {
  return options_.work_dir + "/logs/" + pod_name + ".log";
}

std::string KubeletSim::PodLog(const std::string& pod_name) const {
  return ReadFile(LogPath(pod_name));
}

bool KubeletSim::Running(const std::string& pod_name) const {
  std::lock_guard lock(mu_);
  auto it = pods_.find(pod_name);
  return it != pods_.end() && it->second->process != nullptr;
}

int KubeletSim::RestartCount(const std::string& pod_name) const {
  std::lock_guard lock(mu_);
  auto it = pods_.find(pod_name);
  return it == pods_.end() ? 0 : it->second->restarts;
}

Status KubeletSim::LosePod(const std::string& pod_name) {
  return Lose(pod_name, /*wipe_claims=*/false);
}

Status KubeletSim::LosePodWithPvc(const std::string& pod_name) {
  return Lose(pod_name, /*wipe_claims=*/true);
}

Status KubeletSim::HoldDown(const std::string& pod_name) {
  std::lock_guard lock(mu_);
  auto it = pods_.find(pod_name);
  if (it == pods_.end()) return NotFound("no pod " + pod_name + " runs");
  held_.insert(pod_name);
  StopPodLocked(*it->second, /*kill=*/true);
  return Status::Ok();
}

void KubeletSim::Release(const std::string& pod_name) {
  std::lock_guard lock(mu_);
  held_.erase(pod_name);
  wake_.notify_all();
}

Status KubeletSim::Lose(const std::string& pod_name, bool wipe_claims) {
  std::vector<std::string> claims;
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(pod_name);
    if (it == pods_.end()) return NotFound("no pod " + pod_name + " runs");
    Pod& pod = *it->second;
    if (pod.process) pod.process->Signal(SIGKILL);
    StopPodLocked(pod, /*kill=*/true);
    lost_uids_.insert(pod.uid);
    claims = pod.claims;
    pods_.erase(it);
    if (wipe_claims) {
      std::error_code ec;
      for (const std::string& claim : claims) fs::remove_all(PvcDir(claim), ec);
    }
  }
  Status s = client_.Delete(kube::ResourcePath(kPods, options_.ns, pod_name));
  if (!s.ok() && s.code() != Code::kNotFound) return s;
  if (!wipe_claims) return Status::Ok();
  for (const std::string& claim : claims) {
    s = client_.Delete(kube::ResourcePath(kClaims, options_.ns, claim));
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  return Status::Ok();
}

void KubeletSim::SyncOnceLocked() {
  const std::string ns = options_.ns;
  std::vector<Json> sets =
      Items(client_.ListAll(kube::ResourcePath(kStatefulSets, ns)));
  std::vector<Json> pods =
      Items(client_.ListAll(kube::ResourcePath(kPods, ns)));
  std::vector<Json> claims =
      Items(client_.ListAll(kube::ResourcePath(kClaims, ns)));
  std::set<std::string> set_uids;
  for (const Json& set : sets) {
    set_uids.insert(UidOf(set));
    if (!Deleting(set)) SyncStatefulSet(set, pods, claims);
  }
  // The garbage collector's part: pods of a set that is gone.
  for (const Json& pod : pods) {
    for (const Json& owner :
         Meta(pod).value("ownerReferences", Json::array())) {
      if (owner.value("kind", "") == "StatefulSet" &&
          !set_uids.count(owner.value("uid", ""))) {
        NextSyncRetries(
            client_.Delete(kube::ResourcePath(kPods, ns, Name(pod))));
      }
    }
  }
  SyncPodsLocked(pods);
  SyncClaimsLocked(claims);
}

void KubeletSim::SyncStatefulSet(const Json& set, const std::vector<Json>& pods,
                                 std::vector<Json>& claims) {
  const std::string ns = options_.ns;
  const std::string name = Name(set);
  const Json spec = set.value("spec", Json::object());
  const int replicas = spec.value("replicas", 1);
  const std::string revision = Revision(set);
  std::map<int, const Json*> owned;
  for (const Json& pod : pods) {
    const std::string pod_name = Name(pod);
    auto ordinal = PodOrdinal(pod);
    if (!ordinal || pod_name != name + "-" + std::to_string(*ordinal)) continue;
    owned[*ordinal] = &pod;
  }
  for (const auto& [ordinal, pod] : owned) {
    if (ordinal >= replicas && !Deleting(*pod)) {
      NextSyncRetries(
          client_.Delete(kube::ResourcePath(kPods, ns, Name(*pod))));
    }
  }
  for (int i = 0; i < replicas; ++i) {
    if (!owned.count(i)) CreatePod(set, i, revision, claims);
  }
  // Status as the StatefulSet controller writes it.
  int ready = 0, updated = 0, existing = 0;
  for (const auto& [ordinal, pod] : owned) {
    if (ordinal >= replicas) continue;
    ++existing;
    ready += PodReady(*pod) ? 1 : 0;
    updated += PodRevision(*pod) == revision ? 1 : 0;
  }
  const Json old = set.value("status", Json::object());
  std::string current = old.value("currentRevision", "");
  if (current.empty() || (updated == replicas && existing == replicas)) {
    current = revision;
  }
  Json status = {
      {"replicas", existing},
      {"readyReplicas", ready},
      {"availableReplicas", ready},
      {"currentReplicas", current == revision ? updated : existing - updated},
      {"updatedReplicas", updated},
      {"currentRevision", current},
      {"updateRevision", revision},
      {"observedGeneration", Meta(set).value("generation", int64_t{0})}};
  bool same = true;
  for (const auto& [key, value] : status.items()) {
    same = same && old.contains(key) && old[key] == value;
  }
  if (!same) {
    NextSyncRetries(client_.MergePatch(
        kube::ResourcePath(kStatefulSets, ns, name, "status"),
        {{"status", status}}));
  }
}

void KubeletSim::CreatePod(const Json& set, int ordinal,
                           const std::string& revision,
                           std::vector<Json>& claims) {
  const std::string ns = options_.ns;
  const std::string name = Name(set);
  const std::string pod_name = name + "-" + std::to_string(ordinal);
  const Json spec = set.value("spec", Json::object());
  const Json tmpl = spec.value("template", Json::object());
  Json pod_spec = tmpl.value("spec", Json::object());
  Json volumes = pod_spec.value("volumes", Json::array());
  for (const Json& claim_tmpl :
       spec.value("volumeClaimTemplates", Json::array())) {
    const std::string claim_name = Name(claim_tmpl) + "-" + pod_name;
    auto found = std::find_if(claims.begin(), claims.end(), [&](const Json& c) {
      return Name(c) == claim_name;
    });
    if (found != claims.end() && Deleting(*found)) return;  // not yet gone
    if (found == claims.end()) {
      Json labels = Meta(claim_tmpl).value("labels", Json::object());
      labels.update(spec.value("selector", Json::object())
                        .value("matchLabels", Json::object()));
      Json claim = {
          {"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata",
           {{"name", claim_name}, {"namespace", ns}, {"labels", labels}}},
          {"spec", claim_tmpl.value("spec", Json::object())}};
      auto created = client_.Create(kube::ResourcePath(kClaims, ns), claim);
      if (!created.ok()) return;
      claims.push_back(*created);
    }
    volumes.push_back({{"name", Name(claim_tmpl)},
                       {"persistentVolumeClaim", {{"claimName", claim_name}}}});
  }
  pod_spec["volumes"] = volumes;
  pod_spec["hostname"] = pod_name;
  pod_spec["subdomain"] = spec.value("serviceName", name);
  Json labels = Meta(tmpl).value("labels", Json::object());
  labels[kRevisionLabel] = revision;
  labels["statefulset.kubernetes.io/pod-name"] = pod_name;
  Json metadata = {
      {"name", pod_name},
      {"namespace", ns},
      {"labels", labels},
      {"ownerReferences", Json::array({{{"apiVersion", "apps/v1"},
                                        {"kind", "StatefulSet"},
                                        {"name", name},
                                        {"uid", UidOf(set)},
                                        {"controller", true},
                                        {"blockOwnerDeletion", true}}})}};
  if (Meta(tmpl).contains("annotations")) {
    metadata["annotations"] = Meta(tmpl)["annotations"];
  }
  NextSyncRetries(
      client_.Create(kube::ResourcePath(kPods, ns), {{"apiVersion", "v1"},
                                                     {"kind", "Pod"},
                                                     {"metadata", metadata},
                                                     {"spec", pod_spec}}));
}

void KubeletSim::SyncPodsLocked(const std::vector<Json>& pods) {
  std::map<std::string, const Json*> listed;
  for (const Json& pod : pods) {
    if (!Deleting(pod)) listed[Name(pod)] = &pod;
  }
  // Pods whose object went (or was replaced): their containers stop first.
  for (auto it = pods_.begin(); it != pods_.end();) {
    auto found = listed.find(it->first);
    if (found == listed.end() || UidOf(*found->second) != it->second->uid) {
      if (it->second->process && options_.on_container_stopping) {
        options_.on_container_stopping(
            it->first, addresses_.PodAddress(options_.ns, it->first));
      }
      StopPodLocked(*it->second, /*kill=*/false);
      it = pods_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, object] : listed) {
    if (lost_uids_.count(UidOf(*object))) continue;
    auto& pod = pods_[name];
    if (!pod) {
      pod = std::make_unique<Pod>();
      pod->name = name;
      pod->uid = UidOf(*object);
    }
    pod->object = *object;
    SyncContainerLocked(*pod);
  }
}

void KubeletSim::SyncContainerLocked(Pod& pod) {
  if (pod.process) {
    if (auto how = pod.process->PollExit()) {
      std::ofstream(LogPath(pod.name), std::ios::app)
          << "[kubelet-sim] container " << *how << "\n";
      pod.process.reset();
      ++pod.restarts;
      const int backoff = std::min(pod.restarts, 5);
      pod.next_start = Clock::now() + options_.restart_backoff * backoff;
    }
  }
  if (!pod.process && Clock::now() >= pod.next_start &&
      !held_.count(pod.name)) {
    Status s = StartPodLocked(pod);
    if (!s.ok()) {
      std::ofstream(LogPath(pod.name), std::ios::app)
          << "[kubelet-sim] cannot start: " << s.ToString() << "\n";
      pod.next_start = Clock::now() + options_.restart_backoff;
    }
  }
  const std::string address = addresses_.PodAddress(options_.ns, pod.name);
  // As a kubelet does: Ready after one successful probe, unready only
  // after the probe's failureThreshold (default 3) consecutive failures, so
  // a blip (a follower between two leaders during a leadership transfer)
  // does not flap the condition; a stopped container is unready at once.
  // Probes run every poll_interval here, not every periodSeconds.
  if (pod.process == nullptr) {
    pod.ready = false;
    pod.probe_failures = 0;
  } else if (Serving(address)) {
    pod.ready = true;
    pod.probe_failures = 0;
  } else {
    const Json& containers = pod.object["spec"]["containers"];
    const int threshold = containers.is_array() && !containers.empty()
                              ? containers[0]
                                    .value("readinessProbe", Json::object())
                                    .value("failureThreshold", 3)
                              : 3;
    if (++pod.probe_failures >= threshold) pod.ready = false;
  }
  const std::string ip = address.substr(0, address.rfind(':'));
  const char* ready = pod.ready ? "True" : "False";
  Json state = pod.process
                   ? Json{{"running", Json::object()}}
                   : Json{{"waiting", {{"reason", "CrashLoopBackOff"}}}};
  Json status = {
      {"phase", pod.process ? "Running" : "Pending"},
      {"podIP", ip},
      {"conditions",
       {{{"type", "Ready"}, {"status", ready}},
        {{"type", "ContainersReady"}, {"status", ready}}}},
      {"containerStatuses",
       {{{"name", "node"},
         {"ready", pod.ready},
         {"restartCount", pod.restarts},
         {"image", pod.object["spec"]["containers"][0].value("image", "")},
         {"imageID", ""},
         {"state", state}}}}};
  if (status != pod.written_status) {
    auto written = client_.MergePatch(
        kube::ResourcePath(kPods, options_.ns, pod.name, "status"),
        {{"status", status}});
    if (written.ok()) pod.written_status = status;
  }
}

Status KubeletSim::StartPodLocked(Pod& pod) {
  const Json spec = pod.object.value("spec", Json::object());
  const Json container = spec["containers"][0];
  const Json command = container.value("command", Json::array());
  if (command.size() != 3 || command[2].get<std::string>().empty()) {
    return InvalidArgument("the sim runs only [/bin/sh, -c, script]");
  }
  std::string script = command[2];
  // Volumes: a claim is a directory of its own; a ConfigMap is written out.
  const std::string pod_dir =
      options_.work_dir + "/volumes/" + pod.name + "-" + pod.uid;
  std::map<std::string, std::string> local;  // volume name -> dir
  pod.claims.clear();
  for (const Json& volume : spec.value("volumes", Json::array())) {
    const std::string name = volume.value("name", "");
    std::error_code ec;
    if (volume.contains("persistentVolumeClaim")) {
      const std::string claim = volume["persistentVolumeClaim"]["claimName"];
      fs::create_directories(PvcDir(claim), ec);
      local[name] = PvcDir(claim);
      pod.claims.push_back(claim);
    } else if (volume.contains("configMap")) {
      const std::string map_name = volume["configMap"]["name"];
      auto map =
          client_.Get(kube::ResourcePath(kConfigMaps, options_.ns, map_name));
      if (!map.ok()) return map.status();
      const std::string dir = pod_dir + "/" + name;
      fs::remove_all(dir, ec);
      fs::create_directories(dir, ec);
      const Json data = map->value("data", Json::object());  // outlives items()
      for (const auto& [key, value] : data.items()) {
        std::ofstream(dir + "/" + key) << value.get<std::string>();
      }
      local[name] = dir;
    }
  }
  std::vector<std::pair<std::string, std::string>> mounts;
  for (const Json& mount : container.value("volumeMounts", Json::array())) {
    auto it = local.find(mount.value("name", ""));
    if (it == local.end()) {
      return FailedPrecondition("volume " + mount.value("name", "") +
                                " is not backed");
    }
    mounts.emplace_back(mount.value("mountPath", ""), it->second);
  }
  std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
  for (const auto& [from, to] : mounts) {
    for (size_t at = script.find(from); at != std::string::npos;
         at = script.find(from, at + to.size())) {
      script.replace(at, from.size(), to);
    }
  }
  std::vector<std::string> args = {
      "POD_NAME=" + pod.name,
      "SHARDKV_LISTEN=" + addresses_.PodAddress(options_.ns, pod.name),
      "PATH=" + options_.bin_dir + ":/usr/bin:/bin"};
  for (const Json& env : container.value("env", Json::array())) {
    if (env.contains("value")) {
      args.push_back(env.value("name", "") + "=" + env.value("value", ""));
    }
  }
  args.insert(args.end(), {"/bin/sh", "-c", script});
  auto process = std::make_unique<cli::ChildProcess>();
  SHARDKV_RETURN_IF_ERROR(
      process->Start("/usr/bin/env", args, LogPath(pod.name)));
  pod.process = std::move(process);
  return Status::Ok();
}

void KubeletSim::StopPodLocked(Pod& pod, bool kill) {
  if (!pod.process) return;
  if (kill) pod.process->Signal(SIGKILL);
  std::string how = pod.process->Stop(milliseconds(kill ? 100 : 5000));
  std::ofstream(LogPath(pod.name), std::ios::app)
      << "[kubelet-sim] container stopped: " << how << "\n";
  pod.process.reset();
}

void KubeletSim::SyncClaimsLocked(const std::vector<Json>& claims) {
  std::set<std::string> in_use, existing;
  for (const auto& [name, pod] : pods_) {
    for (const std::string& claim : pod->claims) in_use.insert(claim);
  }
  for (const Json& claim : claims) {
    const std::string name = Name(claim);
    existing.insert(name);
    if (!Deleting(claim) || in_use.count(name)) continue;
    // The pvc-protection controller's part; the volume goes with the claim.
    std::error_code ec;
    fs::remove_all(PvcDir(name), ec);
    NextSyncRetries(
        client_.MergePatch(kube::ResourcePath(kClaims, options_.ns, name),
                           {{"metadata", {{"finalizers", nullptr}}}}));
  }
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(options_.work_dir + "/pvc", ec)) {
    const std::string name = entry.path().filename();
    if (!existing.count(name) && !in_use.count(name)) fs::remove_all(entry, ec);
  }
}

}  // namespace shardkv::op::testing
