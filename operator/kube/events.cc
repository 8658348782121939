#include "operator/kube/events.h"

#include <random>

#include "operator/kube/timestamps.h"

namespace shardkv::kube {
namespace {

const Resource kEvents{"", "v1", "events", true};
// Aggregation memory; beyond it the oldest-keyed entries are dropped and a
// repeat creates a new Event, which is harmless.
constexpr size_t kMaxRemembered = 4096;

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

EventRecorder::EventRecorder(KubeClient* client, std::string component,
                             std::string instance)
    : client_(client),
      component_(std::move(component)),
      instance_(std::move(instance)) {}

Status EventRecorder::Record(const Json& object, const std::string& type,
                             const std::string& reason,
                             const std::string& message) {
  const Json meta = object.value("metadata", Json::object());
  const std::string ns = meta.value("namespace", "default");
  const std::string name = meta.value("name", "");
  if (name.empty()) return InvalidArgument("event about an unnamed object");
  const std::string uid = meta.value("uid", "");
  const std::string key =
      uid + "|" + ns + "/" + name + "|" + type + "|" + reason + "|" + message;
  const std::string now = FormatTime(std::chrono::system_clock::now());

  std::unique_lock<std::mutex> lock(mu_);
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    Seen seen = it->second;
    lock.unlock();
    Json patch = {{"count", seen.count + 1}, {"lastTimestamp", now}};
    StatusOr<Json> patched =
        client_->MergePatch(ResourcePath(kEvents, seen.ns, seen.name), patch);
    if (patched.ok()) {
      std::lock_guard<std::mutex> relock(mu_);
      seen_[key].count = seen.count + 1;
      return Status::Ok();
    }
    if (patched.status().code() != Code::kNotFound) return patched.status();
    // The Event expired (TTL) meanwhile: create a new one.
    lock.lock();
    seen_.erase(key);
  }
  lock.unlock();

  const std::string event_name = name + "." + RandomSuffix();
  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", event_name}, {"namespace", ns}}},
                {"involvedObject",
                 {{"apiVersion", object.value("apiVersion", "")},
                  {"kind", object.value("kind", "")},
                  {"name", name},
                  {"namespace", ns},
                  {"uid", uid},
                  {"resourceVersion", meta.value("resourceVersion", "")}}},
                {"type", type},
                {"reason", reason},
                {"message", message},
                {"count", 1},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"source", {{"component", component_}}},
                {"reportingComponent", component_},
                {"reportingInstance", instance_}};
  StatusOr<Json> created = client_->Create(ResourcePath(kEvents, ns), event);
  if (!created.ok()) return created.status();
  lock.lock();
  if (seen_.size() >= kMaxRemembered) seen_.erase(seen_.begin());
  seen_[key] = Seen{ns, event_name, 1};
  return Status::Ok();
}

}  // namespace shardkv::kube
