// RetryScheduler: where the bench's asynchronous shardkv target parks
// requests that must wait before their next attempt, so no gRPC callback
// thread ever sleeps or blocks on a slot-map fetch:
//  - RunAt(when, fn): fn runs at `when` (a backoff: SLOT_MIGRATING, a
//    lagging shard);
//  - AfterRefresh(observed_at, fn): fn runs once a map refresh that
//    started after `observed_at` has finished. Many requests that hit the
//    same stale map (every closed-loop client after a slot moved) share
//    one refresh instead of each sending its own GetMap.
// One owned thread ("bench-retry") runs the refresh function and every fn,
// in due order. A fn must not block (it re-issues an asynchronous call).
//
// Thread-safety: thread-safe. The destructor stops the thread and runs the
// fns still waiting with cancelled = true, so every parked request is
// answered exactly once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace shardkv::bench {

class RetryScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  // `cancelled`: the scheduler is shutting down; answer, do not retry.
  using Fn = std::function<void(bool cancelled)>;

  // `refresh` fetches the slot map (blocking, bounded by its own timeout).
  explicit RetryScheduler(std::function<void()> refresh);
  ~RetryScheduler();
  RetryScheduler(const RetryScheduler&) = delete;
  RetryScheduler& operator=(const RetryScheduler&) = delete;

  void RunAt(Clock::time_point when, Fn fn);
  void AfterRefresh(Clock::time_point observed_at, Fn fn);

  // Refreshes performed so far.
  uint64_t refreshes() const;

 private:
  void Run();

  const std::function<void()> refresh_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                                          // mu_
  std::multimap<Clock::time_point, Fn> timers_;                    // mu_
  std::vector<std::pair<Clock::time_point, Fn>> refresh_waiters_;  // mu_
  Clock::time_point last_refresh_started_{};                       // mu_
  uint64_t refreshes_ = 0;                                         // mu_
  std::thread thread_;  // last: started in ctor
};

}  // namespace shardkv::bench
