// Minimal leveled logging to stderr: one line per call, with a timestamp,
// the level and the calling module. Thread-safe (one write(2) per line).
//   SHARDKV_LOG(kInfo) << "became leader at term " << term;
#pragma once

#include <sstream>
#include <string>

namespace shardkv {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Default kInfo; SHARDKV_LOG_LEVEL=debug
// in the environment lowers it.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// A prefix for every line, e.g. "node 2" (set once at start-up).
void SetLogPrefix(std::string prefix);

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Turns the streamed expression into void so it fits the ?: in SHARDKV_LOG
// (which, unlike an if, is safe inside an unbraced if/else).
struct LogVoidify {
  void operator&(LogLine&) {}
};

}  // namespace shardkv

#define SHARDKV_LOG(level)                                \
  (::shardkv::LogLevel::level < ::shardkv::GetLogLevel()) \
      ? (void)0                                           \
      : ::shardkv::LogVoidify() &                         \
            ::shardkv::LogLine(::shardkv::LogLevel::level, __FILE__, __LINE__)
