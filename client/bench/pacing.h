// The open-loop (fixed offered rate) schedule: RATE operations per second
// in total, spread evenly over CLIENTS clients and interleaved, so client c's
// n-th operation is due at start + (n * clients + c) / rate. Latency is
// measured from this intended start, not from when the operation was
// actually sent, so a stalled system is charged for the requests it kept
// waiting (no coordinated omission, as in wrk2 / HdrHistogram's correction).
//
// Immutable; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace shardkv::bench {

class PacingSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // rate > 0 operations per second; clients > 0.
  PacingSchedule(Clock::time_point start, double rate, int clients)
      : start_(start), rate_(rate), clients_(clients) {}

  Clock::time_point Intended(int client, uint64_t n) const {
    double slot = static_cast<double>(n) * clients_ + client;
    return start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(slot / rate_));
  }

 private:
  Clock::time_point start_;
  double rate_;
  int clients_;
};

}  // namespace shardkv::bench
