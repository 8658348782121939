// WatchHub: serves Controller.WatchMap streams from this replica's applied
// slot map. One thread ("ctl-watch") reads the applied record every
// kPollInterval and offers each new epoch to every open stream. A stream
// sends the newest map it has not sent (intermediate epochs may be
// skipped when a client reads slowly; epochs only grow). Stop() ends every
// stream with OK and refuses new ones.
//
// Thread-safety: thread-safe. Lock order: hub mu_ before a watcher's mu_.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "node/controller/map_store.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::controller {

class MapWatcher;

class WatchHub {
 public:
  static constexpr std::chrono::milliseconds kPollInterval{50};

  explicit WatchHub(const SlotMapStore* store);
  ~WatchHub();

  void Start();
  void Stop();

  // A new stream for WatchMap (the reactor deletes itself when done).
  grpc::ServerWriteReactor<v1::SlotMap>* Open(uint64_t after_epoch);

 private:
  friend class MapWatcher;
  void Loop();
  void Remove(MapWatcher* watcher);

  const SlotMapStore* const store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                      // mu_
  std::set<MapWatcher*> watchers_;             // mu_
  std::shared_ptr<const v1::SlotMap> latest_;  // mu_
  std::thread thread_;
};

}  // namespace shardkv::controller
