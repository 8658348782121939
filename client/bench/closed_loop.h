// The benchmark driver: N clients, each with at most one operation in
// flight against a Target; a client issues its next operation from the
// completion of the previous one, so no thread per client is needed.
//  - closed loop (rate 0): the next operation starts as soon as the last one
//    completed; latency is measured from the actual send.
//  - open loop (rate > 0): operations are due on a fixed schedule
//    (pacing.h); one pacer thread sends those not yet due when their client
//    became free, and latency is measured from the intended start.
// A read-modify-write is a read then a write of the same key, timed as one
// operation; an insert is a write of a new key.
// Latencies (microseconds) and outcomes are recorded per client and merged
// at the end; only operations completing inside the measurement window
// count.
//
// RunClosedLoop blocks the calling thread until every client has stopped.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "client/bench/histogram.h"
#include "client/bench/target.h"
#include "client/bench/workload.h"

namespace shardkv::bench {

using BenchClock = std::chrono::steady_clock;

struct OpStats {
  Histogram latency_us;  // successful operations only
  uint64_t ok = 0;
  std::map<Code, uint64_t> errors;
  void Merge(const OpStats& other);
};

struct LoopResult {
  std::array<OpStats, kOpTypeCount> ops;
  std::chrono::duration<double> measured{0};  // the window's actual length
  uint64_t total_ok() const;
  uint64_t total_errors() const;
};

// The next operation of `client`, or nullopt when it has nothing more to do.
using NextOperation =
    std::function<std::optional<Operation>(int client, std::mt19937_64& rng)>;

struct LoopOptions {
  int clients = 64;
  // Operations completing in [measure_from, stop_at) are recorded; no
  // operation starts at or after stop_at.
  BenchClock::time_point measure_from;
  BenchClock::time_point stop_at;
  // Offered operations per second over all clients; 0 = closed loop.
  double rate = 0;
};

LoopResult RunClosedLoop(Target& target, const std::string& value,
                         const LoopOptions& options, const NextOperation& next);

}  // namespace shardkv::bench
