#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace shardkv {
namespace {

LogLevel InitialLevel() {
  const char* env = std::getenv("SHARDKV_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(env, "warning") == 0) return LogLevel::kWarning;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<LogLevel> g_level{InitialLevel()};
std::mutex g_prefix_mu;
std::string g_prefix;  // guarded by g_prefix_mu

const char* LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "D";
    case LogLevel::kInfo:
      return "I";
    case LogLevel::kWarning:
      return "W";
    case LogLevel::kError:
      return "E";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }
void SetLogPrefix(std::string prefix) {
  std::lock_guard<std::mutex> lock(g_prefix_mu);
  g_prefix = std::move(prefix);
}

LogLine::LogLine(LogLevel level, const char* file, int line) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int ms =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                           now.time_since_epoch())
                           .count() %
                       1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  const char* base = std::strrchr(file, '/');
  std::string prefix;
  {
    std::lock_guard<std::mutex> lock(g_prefix_mu);
    prefix = g_prefix;
  }
  stream_ << LevelLetter(level) << ' ' << stamp << '.' << (ms / 100)
          << ((ms / 10) % 10) << (ms % 10) << ' ';
  if (!prefix.empty()) stream_ << '[' << prefix << "] ";
  stream_ << (base ? base + 1 : file) << ':' << line << "] ";
}

LogLine::~LogLine() {
  stream_ << '\n';
  std::string s = stream_.str();
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
}

}  // namespace shardkv
