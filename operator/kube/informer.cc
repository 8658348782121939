#include "operator/kube/informer.h"

#include <pthread.h>

#include <set>

#include "common/log.h"

namespace shardkv::kube {

std::string ObjectKey(const Json& object) {
  const Json& meta = object.value("metadata", Json::object());
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

namespace {

std::string ResourceVersionOf(const Json& object) {
  return object.value("metadata", Json::object()).value("resourceVersion", "");
}

}  // namespace

Informer::Informer(KubeClient* client, std::string collection_path,
                   InformerHandlers handlers, InformerOptions options)
    : client_(client),
      path_(std::move(collection_path)),
      handlers_(std::move(handlers)),
      options_(std::move(options)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "informer");
    Run();
  });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  canceller_.Cancel();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_; });
}

std::optional<Json> Informer::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<Json> Informer::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Json> objects;
  objects.reserve(cache_.size());
  for (const auto& [key, object] : cache_) objects.push_back(object);
  return objects;
}

std::string Informer::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void Informer::SetResourceVersionForTest(const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  resource_version_ = version;
}

void Informer::SleepBackoff(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void Informer::Run() {
  bool need_list = true;
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Status status = need_list ? ListAndReplace() : WatchOnce();
    if (status.ok()) {
      need_list = false;
      backoff = options_.min_backoff;
      continue;
    }
    if (status.code() == Code::kCancelled) return;
    if (status.code() == Code::kOutOfRange) {
      // 410 Gone: our resourceVersion was compacted; only a relist helps.
      SHARDKV_LOG(kInfo) << "informer " << path_ << ": " << status.message()
                         << "; relisting";
      need_list = true;
      continue;
    }
    SHARDKV_LOG(kWarning) << "informer " << path_ << ": " << status.message()
                          << "; retrying in " << backoff.count() << "ms";
    SleepBackoff(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
    // A failed list must be redone; a failed watch resumes from the last
    // version, and relists only if that turns out to be too old.
  }
}

Status Informer::ListAndReplace() {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.limit = options_.page_size;
  StatusOr<Json> list = client_->ListAll(path_, list_options);
  if (!list.ok()) return list.status();
  lists_++;
  std::map<std::string, Json> fresh;
  for (const Json& item : (*list)["items"]) fresh[ObjectKey(item)] = item;
  std::vector<Json> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, object] : cache_) {
      if (fresh.count(key) == 0) gone.push_back(object);
    }
    cache_ = fresh;
    resource_version_ = ResourceVersionOf(*list);
  }
  for (const Json& object : gone) {
    if (handlers_.on_delete) handlers_.on_delete(object);
  }
  for (const auto& [key, object] : fresh) {
    if (handlers_.on_upsert) handlers_.on_upsert(object);
  }
  std::lock_guard<std::mutex> lock(mu_);
  synced_ = true;
  cv_.notify_all();
  return Status::Ok();
}

Status Informer::WatchOnce() {
  WatchOptions watch_options;
  watch_options.resource_version = resource_version();
  watch_options.label_selector = options_.label_selector;
  watch_options.timeout = options_.watch_timeout;
  return client_->Watch(
      path_, watch_options,
      [this](const WatchEvent& event) {
        Apply(event.type, event.object);
        return true;
      },
      &canceller_);
}

void Informer::Apply(const std::string& type, const Json& object) {
  const std::string version = ResourceVersionOf(object);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!version.empty()) resource_version_ = version;
    if (type == "BOOKMARK") return;
    if (type == "DELETED") {
      cache_.erase(ObjectKey(object));
    } else {
      cache_[ObjectKey(object)] = object;
    }
  }
  if (type == "DELETED") {
    if (handlers_.on_delete) handlers_.on_delete(object);
  } else if (handlers_.on_upsert) {
    handlers_.on_upsert(object);
  }
}

}  // namespace shardkv::kube
