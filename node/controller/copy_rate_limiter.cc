#include "node/controller/copy_rate_limiter.h"

#include <algorithm>
#include <thread>

namespace shardkv::controller {

void CopyRateLimiter::PauseCopies() {
  std::lock_guard<std::mutex> lock(mu_);
  ++pauses_;
}

void CopyRateLimiter::ResumeCopies() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --pauses_;
  }
  resumed_.notify_all();
}

bool CopyRateLimiter::Acquire(uint64_t bytes, const std::atomic<bool>* stop) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Timed waits: a stop is noticed within 50 ms.
    while (pauses_ > 0) {
      if (stop->load()) return false;
      resumed_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }
  if (rate_ == 0) return true;
  const double burst = static_cast<double>(rate_);
  while (!stop->load()) {
    double wait_s = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const Clock::time_point now = Clock::now();
      tokens_ = std::min(
          burst,
          tokens_ + std::chrono::duration<double>(now - last_).count() * burst);
      last_ = now;
      if (tokens_ >= 0) {
        tokens_ -= static_cast<double>(bytes);
        return true;
      }
      wait_s = -tokens_ / burst;
    }
    // Short sleeps: a stop is noticed within 50 ms.
    std::this_thread::sleep_for(
        std::chrono::duration<double>(std::min(wait_s + 0.001, 0.05)));
  }
  return false;
}

}  // namespace shardkv::controller
