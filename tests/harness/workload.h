// Workload: client threads issuing random Get / Set / Delete / CAS
// operations against a cluster (one shard, or a sharded cluster) through
// the real routing client, recording each one in a lincheck::History with
// call/return times.
//
// Keys: a few hot keys (most conflicts, the hard part for the checker) and a
// larger cold set; optionally a separate set written with TTLs (recorded
// with has_ttl, so the checker skips them: expiry follows the leader's
// clock) and stale reads (exercised, not recorded: they may lag). Every Set
// writes a value unique in the whole run, so a read identifies the write it
// saw.
//
// Outcomes: OK and "condition failed" are definite. Any other failure of a
// write (timeout, UNAVAILABLE, NOT_LEADER after retries...) is recorded as
// unknown: the client may have sent it to a leader that applied it. A
// failed read is recorded as unknown too (it constrains nothing).
//
// Thread-safety: Start()/Stop()/counters from the owning thread; the
// workload owns `threads` named threads ("workload-<i>") between Start()
// and Stop(). Invariant: after Stop() no operation is in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/routing_client.h"
#include "testing/lincheck/history.h"

namespace shardkv::test {

struct WorkloadOptions {
  int threads = 4;
  int hot_keys = 3;
  int cold_keys = 40;
  // Probability that an operation picks a hot key.
  double hot_fraction = 0.5;
  // Probability of a read; the rest are writes of mixed kinds.
  double read_fraction = 0.35;
  // Of the reads, the fraction sent with stale consistency (not recorded).
  double stale_read_fraction = 0.0;
  // Keys written only with TTLs (100 ms - 2 s); 0 = none.
  int ttl_keys = 0;
  // Probability that an operation goes to the TTL key set.
  double ttl_fraction = 0.0;
  uint64_t seed = 1;
  std::chrono::milliseconds op_timeout{3000};
  std::string key_prefix = "key";
};

struct WorkloadCounts {
  uint64_t ok = 0;  // definite results (incl. not found)
  uint64_t condition_failed = 0;
  uint64_t unknown = 0;     // writes and reads without a definite result
  uint64_t unrecorded = 0;  // stale reads and TTL writes (not checked)
};

class Workload {
 public:
  Workload(std::vector<std::string> endpoints, WorkloadOptions options,
           lincheck::History* history);
  ~Workload();  // Stop()s

  // Fails if the client cannot be created.
  Status Start();
  // Asks the threads to finish their current operation and joins them.
  void Stop();

  // All keys the workload may touch.
  std::vector<std::string> Keys() const;
  WorkloadCounts Counts() const;
  // Definite writes (OK) so far, to pace a test.
  uint64_t AckedWrites() const { return acked_writes_.load(); }

 private:
  void Run(int thread_index);
  // Each returns the key's version it learned (0: absent or unknown), so
  // later CAS operations of the thread have a plausible expected version.
  uint64_t RecordGet(int client, const std::string& key);
  uint64_t RecordSet(int client, const std::string& key,
                     const std::string& value, lincheck::Condition condition,
                     uint64_t version);
  uint64_t RecordDelete(int client, const std::string& key,
                        lincheck::Condition condition, uint64_t version);

  const std::vector<std::string> endpoints_;
  const WorkloadOptions options_;
  lincheck::History* const history_;
  void RunTtlOrStale(int client, std::mt19937_64& rng, bool ttl);

  std::unique_ptr<client::RoutingClient> client_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> condition_failed_{0};
  std::atomic<uint64_t> unknown_{0};
  std::atomic<uint64_t> unrecorded_{0};
  std::atomic<uint64_t> acked_writes_{0};
};

}  // namespace shardkv::test
