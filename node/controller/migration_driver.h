// MigrationDriver: the controller leader's background work on the map.
//
// One coordinator thread ("ctl-driver") runs on every controller replica
// and acts only while its replica leads: every kPassInterval it creates the
// map if absent, sends AssignSlots for pending assignments (and records the
// confirmation), starts planned moves while `rebalancing` is set (clearing
// it once the plan is empty), and hands each migration of the map to a
// worker. The workers ("ctl-mig-N", kWorkers of them) exist only while the
// replica leads: started on gaining leadership, stopped and joined on
// losing it or on Stop(). A worker runs one migration (MigrationRunner)
// until it finishes or a step fails; a failed migration is retried after a
// backoff, so a dead shard delays only the migrations naming it.
//
// Thread-safety: Start/Stop from one thread; everything else internal.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "node/controller/map_store.h"
#include "node/controller/migration_runner.h"
#include "node/controller/shard_caller.h"
#include "node/server/replica.h"

namespace shardkv::controller {

class MigrationDriver {
 public:
  // One per migration in flight (the map's max_concurrent_migrations,
  // default kDefaultMaxConcurrentMigrations): a migration is a chain of
  // blocking steps, mostly waiting on Raft commits, so the workers are
  // what lets several share each commit.
  static constexpr int kWorkers = 16;
  static constexpr std::chrono::milliseconds kPassInterval{100};
  static constexpr std::chrono::milliseconds kRetryBackoff{1000};

  // copy_bytes_per_second: the migrations' copy rate limit (0: none).
  MigrationDriver(server::Replica* replica, SlotMapStore* store,
                  uint32_t slot_count, uint64_t copy_bytes_per_second);
  ~MigrationDriver();

  void Start();
  void Stop();

 private:
  void CoordinatorLoop();
  void LeaderPass();
  void SendPendingAssignments(const v1::SlotMap& map);
  void Dispatch(const v1::SlotMap& map);
  void StartWorkers();
  void StopWorkers();
  void WorkerLoop();
  Status CreateMapIfAbsent();

  server::Replica* const replica_;
  SlotMapStore* const store_;
  const uint32_t slot_count_;

  std::atomic<bool> stopping_{false};
  // Set when the workers must stop (leadership lost or Stop()).
  std::atomic<bool> workers_stop_{true};
  ShardCaller caller_;         // migration steps (workers)
  ShardCaller assign_caller_;  // AssignSlots (coordinator; short deadline)

  MigrationRunner runner_;

  std::mutex mu_;
  std::condition_variable cv_;
  // A worker finished a migration: the coordinator runs a pass at once
  // (starts the next planned move) instead of at its next interval.
  bool pass_wanted_ = false;  // mu_
  std::condition_variable pass_cv_;
  std::deque<uint64_t> queue_;  // mu_
  std::set<uint64_t> taken_;    // queued or running          // mu_
  std::map<uint64_t, std::chrono::steady_clock::time_point>
      retry_after_;  // mu_

  std::thread coordinator_;
  std::vector<std::thread> workers_;  // coordinator thread only
};

}  // namespace shardkv::controller
