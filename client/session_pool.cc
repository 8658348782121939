#include "client/session_pool.h"

#include <chrono>

namespace shardkv::client {

SessionPool::SessionPool() {
  std::random_device device;
  // Mix the time in: random_device may be deterministic on some platforms,
  // and two processes sharing a client_id would corrupt de-duplication.
  uint64_t now = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  rng_.seed((static_cast<uint64_t>(device()) << 32) ^ device() ^ now);
}

Session SessionPool::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!idle_.empty()) {
    Session s = idle_.back();
    idle_.pop_back();
    return s;
  }
  Session s;
  while (s.client_id == 0) s.client_id = rng_();
  return s;
}

void SessionPool::Release(Session session) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(session);
}

size_t SessionPool::idle_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

}  // namespace shardkv::client
