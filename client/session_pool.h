// Write sessions for de-duplication of retried writes (kv.proto RequestId):
// each session is a random non-zero client_id with its last used sequence.
// The shard requires at most one write in flight per client_id, so a write
// takes a session out of the pool for its whole life (all its retries reuse
// one sequence) and gives it back only when its outcome is known. A session
// whose write ended in doubt (timeout, connection lost) is discarded: the
// old write might still arrive later and must not collide with a new one.
//
// Thread-safe. Concurrent writers get distinct sessions; the pool grows to
// the peak number of concurrent writes.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

namespace shardkv::client {

struct Session {
  uint64_t client_id = 0;
  uint64_t last_sequence = 0;  // the next write uses last_sequence + 1
};

class SessionPool {
 public:
  SessionPool();

  // An idle session, or a fresh one with a new random client_id.
  Session Acquire();
  // Returns a session whose last write's outcome is known.
  void Release(Session session);

  size_t idle_count() const;

 private:
  mutable std::mutex mu_;
  std::vector<Session> idle_;  // GUARDED_BY(mu_)
  std::mt19937_64 rng_;        // GUARDED_BY(mu_)
};

}  // namespace shardkv::client
