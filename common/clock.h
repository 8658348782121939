// Wall-clock time in Unix milliseconds: the leader stamps it into log
// entries (TTL expiry, applied clock) and reads compare expiries with it.
#pragma once

#include <chrono>
#include <cstdint>

namespace shardkv {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace shardkv
