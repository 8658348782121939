#include "operator/kube/timestamps.h"

#include <cstdio>
#include <ctime>

namespace shardkv::kube {
namespace {

std::string Format(std::chrono::system_clock::time_point t, bool micros) {
  const auto since_epoch = t.time_since_epoch();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micro = std::chrono::duration_cast<std::chrono::microseconds>(
                         since_epoch - seconds)
                         .count();
  const std::time_t time = seconds.count();
  std::tm utc{};
  gmtime_r(&time, &utc);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
  if (!micros) return std::string(date) + "Z";
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%06lld",
                static_cast<long long>(micro));
  return std::string(date) + fraction + "Z";
}

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t) {
  return Format(t, false);
}

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  return Format(t, true);
}

}  // namespace shardkv::kube
