#include "node/controller/watch_hub.h"

#include <pthread.h>

namespace shardkv::controller {

// One WatchMap stream. At most one write in flight; `pending_` holds the
// newest map not yet written.
class MapWatcher : public grpc::ServerWriteReactor<v1::SlotMap> {
 public:
  MapWatcher(WatchHub* hub, uint64_t after_epoch)
      : hub_(hub), sent_epoch_(after_epoch) {}

  void Offer(std::shared_ptr<const v1::SlotMap> map) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_ || map->epoch() <= sent_epoch_) return;
    pending_ = std::move(map);
    if (!writing_) WriteNextLocked();
  }

  // Ends the stream with `status` once the write in flight is done.
  void End(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    end_status_ = std::move(status);
    if (!writing_) Finish(end_status_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    current_.reset();
    if (finishing_) {
      Finish(end_status_);
    } else if (!ok) {
      finishing_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
    } else if (pending_) {
      WriteNextLocked();
    }
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  void WriteNextLocked() {
    current_ = std::move(pending_);
    sent_epoch_ = current_->epoch();
    writing_ = true;
    StartWrite(current_.get());
  }

  WatchHub* const hub_;
  std::mutex mu_;
  uint64_t sent_epoch_;                         // mu_
  bool writing_ = false;                        // mu_
  bool finishing_ = false;                      // mu_
  grpc::Status end_status_;                     // mu_
  std::shared_ptr<const v1::SlotMap> current_;  // mu_; being written
  std::shared_ptr<const v1::SlotMap> pending_;  // mu_
};

WatchHub::WatchHub(const SlotMapStore* store) : store_(store) {}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ctl-watch");
    Loop();
  });
}

void WatchHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      for (MapWatcher* w : watchers_) w->End(grpc::Status::OK);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

grpc::ServerWriteReactor<v1::SlotMap>* WatchHub::Open(uint64_t after_epoch) {
  auto* watcher = new MapWatcher(this, after_epoch);
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.insert(watcher);
  if (stopping_) {
    watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "controller replica is shutting down"));
  } else if (latest_) {
    watcher->Offer(latest_);
  }
  return watcher;
}

void WatchHub::Remove(MapWatcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(watcher);
}

void WatchHub::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto stored = store_->Applied();
    lock.lock();
    if (stored.ok() && stored->exists &&
        (!latest_ || stored->map.epoch() > latest_->epoch())) {
      latest_ = std::make_shared<const v1::SlotMap>(std::move(stored->map));
      for (MapWatcher* w : watchers_) w->Offer(latest_);
    }
    cv_.wait_for(lock, kPollInterval, [this] { return stopping_; });
  }
}

}  // namespace shardkv::controller
