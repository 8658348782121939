// A one-line progress display for long cluster operations (rebalance,
// drain, slot move, playground scale): a bar with slots moved / total,
// bytes moved, migrations in flight and elapsed time. On a terminal the
// line is redrawn in place; otherwise (a log, a pipe) a line is printed at
// most every `log_interval`, so logs stay readable.
//
// Not thread-safe: one thread drives a ProgressBar.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace shardkv::cli {

struct Progress {
  uint64_t done = 0;   // slots moved so far
  uint64_t total = 0;  // slots to move (0: nothing to move, a full bar)
  uint64_t bytes = 0;  // bytes moved so far (finished + in-flight copies)
  int in_flight = 0;   // migrations running now
  std::string note;    // e.g. "controller unreachable"; "" = none
};

// The line without control characters, e.g.
// "[=========>          ] 12/40 slots  1.2 MiB moved  3 in flight  4.1s".
std::string RenderProgress(const Progress& p, std::chrono::milliseconds elapsed,
                           int bar_width = 24);

// "512 B", "1.5 KiB", "3.2 GiB".
std::string FormatBytes(uint64_t bytes);

class ProgressBar {
 public:
  // `interactive`: redraw in place (default: whether `out` is a terminal).
  explicit ProgressBar(std::FILE* out = stderr);
  ProgressBar(std::FILE* out, bool interactive,
              std::chrono::milliseconds log_interval);

  void Update(const Progress& p);
  // Draws `p` one last time and ends the line.
  void Finish(const Progress& p);

 private:
  using Clock = std::chrono::steady_clock;
  void Draw(const Progress& p, bool final_line);

  std::FILE* out_;
  bool interactive_;
  std::chrono::milliseconds log_interval_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
  size_t last_width_ = 0;
};

}  // namespace shardkv::cli
