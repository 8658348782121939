// Clocks. Wall-clock time in Unix milliseconds: the leader stamps it into
// log entries (TTL expiry, applied clock) and reads compare expiries with
// it. The boot clock measures leader leases: it never jumps back and, unlike
// steady_clock, keeps counting while the machine is suspended, so a leader
// resumed from a suspension sees its lease expired.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace shardkv {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::chrono::nanoseconds BootClockNow() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace shardkv
