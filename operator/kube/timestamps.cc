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

std::optional<std::chrono::system_clock::time_point> ParseTime(
    const std::string& text) {
  std::tm utc{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year,
                  &utc.tm_mon, &utc.tm_mday, &utc.tm_hour, &utc.tm_min,
                  &utc.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
  }
  if (at + 1 != text.size() || text[at] != 'Z') return std::nullopt;
  if (utc.tm_mon < 1 || utc.tm_mon > 12 || utc.tm_mday < 1 ||
      utc.tm_mday > 31 || utc.tm_hour > 23 || utc.tm_min > 59 ||
      utc.tm_sec > 60) {
    return std::nullopt;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

}  // namespace shardkv::kube
