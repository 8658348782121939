// A work queue of string keys ("namespace/name") with rate-limited retries,
// the shape of client-go's: a key is queued at most once however often it is
// added; a key being processed is never handed to a second worker, and if it
// is added meanwhile it is queued again when the first worker calls Done.
// Failed keys come back after a per-key exponential backoff (AddRateLimited)
// until Forget resets it.
//
// Thread-safety: all methods are safe from any thread. Get blocks.
// Invariants: a key is in at most one of {queue, delayed} at a time;
// `processing` keys are not in `queue`; a key in `dirty` is in `queue`
// unless it is being processed.
#ifndef SHARDKV_OPERATOR_WORK_QUEUE_H_
#define SHARDKV_OPERATOR_WORK_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace shardkv::op {

struct RateLimit {
  std::chrono::milliseconds base{5};  // delay after the first failure
  std::chrono::milliseconds max{std::chrono::minutes(5)};
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(RateLimit limit = {});

  void Add(const std::string& key);
  // Adds `key` after `delay` (at once when delay <= 0). A key already due
  // sooner keeps its earlier time.
  void AddAfter(const std::string& key, Clock::duration delay);
  // Adds `key` after base * 2^(failures) (capped at max), counting a failure.
  void AddRateLimited(const std::string& key);
  // Clears the failure count of `key` (call after it succeeded).
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // The next key to process, or nullopt once ShutDown was called (keys still
  // queued are dropped). REQUIRES: Done(key) after processing it.
  std::optional<std::string> Get();
  void Done(const std::string& key);

  void ShutDown();
  // Queued now (not delayed, not processing); for tests and metrics.
  size_t Len() const;

 private:
  void AddLocked(const std::string& key);
  // Moves delayed keys that are due into the queue; returns the next due time.
  std::optional<Clock::time_point> PromoteDueLocked(Clock::time_point now);

  const RateLimit limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> delayed_;
  std::map<std::string, int> failures_;
  bool shut_down_ = false;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_WORK_QUEUE_H_
