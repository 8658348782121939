// CopyRateLimiter: bounds the bytes per second the controller's migrations
// copy, over all migrations in flight (a token bucket holding at most one
// second of tokens), so the shards keep serving clients while slots move.
// The frozen final round is never limited: it holds the batch's freeze.
// While any batch is frozen (PauseCopies .. ResumeCopies), Acquire holds
// every other copy chunk back: a frozen batch's slots refuse clients, and
// its final round's import otherwise queues in the target's Raft log
// behind the other migrations' chunks (docs/sharding.md).
//
// Thread-safety: thread-safe; Acquire blocks the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace shardkv::controller {

class CopyRateLimiter {
 public:
  // bytes_per_second 0: no limit.
  explicit CopyRateLimiter(uint64_t bytes_per_second)
      : rate_(bytes_per_second),
        tokens_(static_cast<double>(bytes_per_second)),
        last_(Clock::now()) {}

  uint64_t rate() const { return rate_; }

  // Takes `bytes` of the budget, waiting while copies are paused or the
  // bucket is in debt (a chunk larger than the bucket goes through and
  // leaves the debt for the next caller). False if `stop` became true
  // while waiting.
  bool Acquire(uint64_t bytes, const std::atomic<bool>* stop);

  // Pauses Acquire until every PauseCopies has its ResumeCopies.
  void PauseCopies();
  void ResumeCopies();

 private:
  using Clock = std::chrono::steady_clock;

  const uint64_t rate_;
  std::mutex mu_;
  double tokens_;           // GUARDED_BY(mu_); negative: debt
  Clock::time_point last_;  // GUARDED_BY(mu_): last refill
  std::condition_variable resumed_;
  int pauses_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace shardkv::controller
