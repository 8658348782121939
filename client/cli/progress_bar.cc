#include "client/cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>

namespace shardkv::cli {

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B",
                  static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string RenderProgress(const Progress& p, std::chrono::milliseconds elapsed,
                           int bar_width) {
  uint64_t total = std::max(p.total, p.done);
  // Nothing to move is done: a full bar.
  std::string bar(static_cast<size_t>(bar_width), total == 0 ? '=' : ' ');
  if (total > 0) {
    auto filled = static_cast<size_t>(p.done * bar_width / total);
    std::fill(bar.begin(), bar.begin() + filled, '=');
    if (filled < bar.size()) bar[filled] = '>';
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1fs", elapsed.count() / 1000.0);
  std::string line = "[" + bar + "] " + std::to_string(p.done) + "/" +
                     std::to_string(total) + " slots  " + FormatBytes(p.bytes) +
                     " moved  " + std::to_string(p.in_flight) + " in flight  " +
                     buf;
  if (!p.note.empty()) line += "  (" + p.note + ")";
  return line;
}

ProgressBar::ProgressBar(std::FILE* out)
    : ProgressBar(out, isatty(fileno(out)) != 0, std::chrono::seconds(2)) {}

ProgressBar::ProgressBar(std::FILE* out, bool interactive,
                         std::chrono::milliseconds log_interval)
    : out_(out),
      interactive_(interactive),
      log_interval_(log_interval),
      start_(Clock::now()) {}

void ProgressBar::Update(const Progress& p) { Draw(p, false); }

void ProgressBar::Finish(const Progress& p) { Draw(p, true); }

void ProgressBar::Draw(const Progress& p, bool final_line) {
  Clock::time_point now = Clock::now();
  if (!interactive_ && !final_line && last_draw_ != Clock::time_point{} &&
      now - last_draw_ < log_interval_) {
    return;
  }
  last_draw_ = now;
  std::string line = RenderProgress(
      p, std::chrono::duration_cast<std::chrono::milliseconds>(now - start_));
  if (interactive_) {
    // Pad over the previous, possibly longer, line.
    size_t width = line.size();
    if (line.size() < last_width_) line.append(last_width_ - line.size(), ' ');
    last_width_ = width;
    std::fprintf(out_, "\r%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace shardkv::cli
