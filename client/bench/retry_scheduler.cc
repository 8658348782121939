#include "client/bench/retry_scheduler.h"

#include <pthread.h>

#include <utility>

namespace shardkv::bench {

RetryScheduler::RetryScheduler(std::function<void()> refresh)
    : refresh_(std::move(refresh)), thread_([this] { Run(); }) {}

RetryScheduler::~RetryScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // Nothing can add work now that the thread (the only other caller of
  // the fns, and so of RunAt/AfterRefresh from inside them) has stopped.
  for (auto& [when, fn] : timers_) fn(true);
  for (auto& [observed_at, fn] : refresh_waiters_) fn(true);
}

void RetryScheduler::RunAt(Clock::time_point when, Fn fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    timers_.emplace(when, std::move(fn));
  }
  wake_.notify_all();
}

void RetryScheduler::AfterRefresh(Clock::time_point observed_at, Fn fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    refresh_waiters_.emplace_back(observed_at, std::move(fn));
  }
  wake_.notify_all();
}

uint64_t RetryScheduler::refreshes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refreshes_;
}

void RetryScheduler::Run() {
  pthread_setname_np(pthread_self(), "bench-retry");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!refresh_waiters_.empty()) {
      // One refresh serves every waiter that saw its stale map before the
      // refresh started; waiters added meanwhile wait for the next one.
      bool needed = false;
      for (const auto& [observed_at, fn] : refresh_waiters_) {
        needed |= observed_at >= last_refresh_started_;
      }
      if (needed) {
        last_refresh_started_ = Clock::now();
        ++refreshes_;
        lock.unlock();
        refresh_();
        lock.lock();
      }
      std::vector<std::pair<Clock::time_point, Fn>> ready;
      std::vector<std::pair<Clock::time_point, Fn>> later;
      for (auto& w : refresh_waiters_) {
        (w.first < last_refresh_started_ ? ready : later)
            .push_back(std::move(w));
      }
      refresh_waiters_ = std::move(later);
      lock.unlock();
      for (auto& [observed_at, fn] : ready) fn(false);
      lock.lock();
      continue;
    }
    if (!timers_.empty() && timers_.begin()->first <= Clock::now()) {
      Fn fn = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      lock.unlock();
      fn(false);
      lock.lock();
      continue;
    }
    if (timers_.empty()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, timers_.begin()->first);
    }
  }
}

}  // namespace shardkv::bench
