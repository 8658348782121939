#include "operator/work_queue.h"

#include <algorithm>

namespace shardkv::op {

WorkQueue::WorkQueue(RateLimit limit) : limit_(limit) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shut_down_ || dirty_.count(key) > 0) return;
  delayed_.erase(key);
  dirty_.insert(key);
  if (processing_.count(key) > 0) return;  // requeued by Done
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Clock::duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (delay <= Clock::duration::zero()) {
    AddLocked(key);
    return;
  }
  if (shut_down_ || dirty_.count(key) > 0) return;
  const Clock::time_point due = Clock::now() + delay;
  auto [it, inserted] = delayed_.emplace(key, due);
  if (!inserted) it->second = std::min(it->second, due);
  // A waiting Get may need to wake earlier than it planned.
  cv_.notify_all();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  Clock::duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int failures = failures_[key]++;
    // Doubling past 2^30 would overflow; the cap is reached long before.
    const int shift = std::min(failures, 30);
    const auto wanted = limit_.base * (int64_t{1} << shift);
    delay = std::min<Clock::duration>(wanted, limit_.max);
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<WorkQueue::Clock::time_point> WorkQueue::PromoteDueLocked(
    Clock::time_point now) {
  std::optional<Clock::time_point> next;
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      std::string key = it->first;
      it = delayed_.erase(it);
      AddLocked(key);
    } else {
      if (!next || it->second < *next) next = it->second;
      ++it;
    }
  }
  return next;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shut_down_) return std::nullopt;
    std::optional<Clock::time_point> next = PromoteDueLocked(Clock::now());
    if (!queue_.empty()) break;
    if (next) {
      cv_.wait_until(lock, *next);
    } else {
      cv_.wait(lock);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) > 0 && !shut_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  cv_.notify_all();
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace shardkv::op
