// Keeps a SlotMapCache fresh with a Controller.WatchMap stream: one owned
// thread ("map-watch") opens the stream at a controller replica, offers
// every map it receives to the cache, and when the stream breaks (replica
// down, controller restarting) reconnects at the next replica after an
// exponential backoff with jitter (retrying_call.h BackoffDelay). Maps older
// than the cache's are ignored by the cache itself.
//
// Thread-safe: Stop() (or the destructor) may be called from any thread; it
// cancels the open stream and joins the thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "client/endpoint_set.h"
#include "client/retrying_call.h"
#include "client/slot_map_cache.h"

namespace shardkv::client {

class MapWatcher {
 public:
  // Called (on the watch thread) after each map the cache accepted.
  using OnAccepted = std::function<void(const v1::SlotMap&)>;

  // `controllers` and `cache` must outlive the watcher.
  MapWatcher(EndpointSet& controllers, SlotMapCache& cache,
             const RetryPolicy& policy, OnAccepted on_accepted = nullptr);
  ~MapWatcher();

  MapWatcher(const MapWatcher&) = delete;
  MapWatcher& operator=(const MapWatcher&) = delete;

  void Stop();
  // Streams opened so far (tests: reconnection happened).
  uint64_t connects() const { return connects_.load(); }
  // Maps received over the streams, accepted or not.
  uint64_t received() const { return received_.load(); }

 private:
  void Run();
  // One stream at `index` until it ends; true if it delivered anything.
  bool WatchOnce(size_t index);

  EndpointSet& controllers_;
  SlotMapCache& cache_;
  const RetryPolicy policy_;
  const OnAccepted on_accepted_;
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> received_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  grpc::ClientContext* open_stream_ = nullptr;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace shardkv::client
