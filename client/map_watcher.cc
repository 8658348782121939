#include "client/map_watcher.h"

#include <pthread.h>

#include <memory>

namespace shardkv::client {

MapWatcher::MapWatcher(EndpointSet& controllers, SlotMapCache& cache,
                       const RetryPolicy& policy, OnAccepted on_accepted)
    : controllers_(controllers),
      cache_(cache),
      policy_(policy),
      on_accepted_(std::move(on_accepted)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "map-watch");
    Run();
  });
}

MapWatcher::~MapWatcher() { Stop(); }

void MapWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (open_stream_) open_stream_->TryCancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MapWatcher::Run() {
  size_t index = 0;
  int failures = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    failures = WatchOnce(index) ? 0 : failures + 1;
    index = (index + 1) % controllers_.size();
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, BackoffDelay(policy_, failures),
                   [this] { return stopping_; });
  }
}

bool MapWatcher::WatchOnce(size_t index) {
  Endpoint& endpoint = controllers_.at(index);
  grpc::ClientContext context;
  v1::WatchMapRequest request;
  request.set_after_epoch(cache_.epoch());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    open_stream_ = &context;
  }
  ++connects_;
  std::unique_ptr<grpc::ClientReader<v1::SlotMap>> reader =
      endpoint.controller->WatchMap(&context, request);
  bool delivered = false;
  v1::SlotMap map;
  while (reader->Read(&map)) {
    delivered = true;
    ++received_;
    if (cache_.Offer(map) == SlotMapCache::Verdict::kAccepted && on_accepted_) {
      on_accepted_(map);
    }
  }
  (void)reader->Finish();  // any ending is followed by a reconnect
  std::lock_guard<std::mutex> lock(mu_);
  open_stream_ = nullptr;
  return delivered;
}

}  // namespace shardkv::client
