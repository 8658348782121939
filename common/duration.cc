#include "common/duration.h"

#include <cmath>
#include <string>

namespace shardkv {
namespace {

// Splits "1.5ms" into 1.5 and "ms". Fails when there is no leading number.
bool SplitNumber(std::string_view text, double* number, std::string* unit) {
  size_t i = 0;
  while (i < text.size() &&
         (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  try {
    size_t used = 0;
    std::string digits(text.substr(0, i));
    *number = std::stod(digits, &used);
    if (used != digits.size()) return false;
  } catch (...) {
    return false;
  }
  *unit = std::string(text.substr(i));
  return std::isfinite(*number) && *number >= 0;
}

}  // namespace

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double n = 0;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) {
    return InvalidArgument("invalid duration '" + std::string(text) +
                           "' (examples: 500ms, 10s, 5m, 1h)");
  }
  double ms = 0;
  if (unit == "ms") {
    ms = n;
  } else if (unit == "s" || unit.empty()) {
    ms = n * 1000;
  } else if (unit == "m") {
    ms = n * 60'000;
  } else if (unit == "h") {
    ms = n * 3'600'000;
  } else if (unit == "d") {
    ms = n * 86'400'000;
  } else {
    return InvalidArgument("unknown duration unit '" + unit + "' in '" +
                           std::string(text) + "' (use ms, s, m, h or d)");
  }
  if (ms > 1e15)
    return InvalidArgument("duration too large: " + std::string(text));
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  double n = 0;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) {
    return InvalidArgument("invalid size '" + std::string(text) +
                           "' (examples: 256, 4KiB, 1MiB)");
  }
  double mult = 1;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB" || unit == "K" || unit == "KB") {
    mult = 1024.0;
  } else if (unit == "MiB" || unit == "M" || unit == "MB") {
    mult = 1024.0 * 1024;
  } else if (unit == "GiB" || unit == "G" || unit == "GB") {
    mult = 1024.0 * 1024 * 1024;
  } else {
    return InvalidArgument("unknown size unit '" + unit + "' in '" +
                           std::string(text) + "' (use B, KiB, MiB or GiB)");
  }
  double bytes = n * mult;
  if (bytes > 1e18)
    return InvalidArgument("size too large: " + std::string(text));
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace shardkv
