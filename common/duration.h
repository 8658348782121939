// Parsing of human durations and sizes given on command lines:
// "250ms", "10s", "5m", "1h", "1.5s"; "256", "4KiB", "1MiB", "1GiB".
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace shardkv {

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
StatusOr<uint64_t> ParseByteSize(std::string_view text);

}  // namespace shardkv
