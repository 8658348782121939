// `shardkv playground scale --shards N`: asks the playground running on the
// data dir (playground_control.h) to grow or shrink, and draws its progress:
// a bar of slots moved out of the slots to move, and the bytes moved.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "client/cli/commands.h"
#include "client/cli/playground_control.h"

namespace shardkv::cli {
namespace {

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n >= (1u << 20)) {
    snprintf(buf, sizeof(buf), "%.1f MiB", n / 1048576.0);
  } else if (n >= 1024) {
    snprintf(buf, sizeof(buf), "%.1f KiB", n / 1024.0);
  } else {
    snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
  }
  return buf;
}

// "progress STEP MOVED TOTAL BYTES" -> one line of output. On a terminal the
// bar redraws in place; otherwise only step changes are printed.
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(isatty(STDOUT_FILENO)) {}
  ~ProgressPrinter() { EndLine(); }

  void Line(const std::string& line) {
    std::istringstream in(line);
    std::string kind, step;
    uint64_t moved = 0, total = 0, bytes = 0;
    in >> kind;
    if (kind != "progress") {
      EndLine();
      std::cout << line.substr(line.find(' ') + 1) << std::endl;
      return;
    }
    in >> step >> moved >> total >> bytes;
    std::string text = step;
    if (total > 0) text += " " + Bar(moved, total) + " " + Bytes(bytes);
    if (tty_) {
      std::cout << "\r\033[K" << text << std::flush;
      open_line_ = true;
    } else if (step != last_step_ || (total > 0 && moved == total)) {
      std::cout << text << std::endl;
    }
    last_step_ = step;
  }

 private:
  static std::string Bar(uint64_t moved, uint64_t total) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * moved / total);
    return "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') +
           "] " + std::to_string(moved) + "/" + std::to_string(total) +
           " slots";
  }
  void EndLine() {
    if (open_line_) std::cout << std::endl;
    open_line_ = false;
  }

  const bool tty_;
  bool open_line_ = false;
  std::string last_step_;
};

}  // namespace

int RunPlaygroundScale(const PlaygroundCommand& command) {
  std::string dir =
      std::filesystem::absolute(command.data_dir).lexically_normal().string();
  ProgressPrinter printer;
  Status st = RunControlRequest(
      dir + "/control.sock", "scale " + std::to_string(command.shards),
      [&](const std::string& line) { printer.Line(line); });
  if (!st.ok()) {
    std::cerr << "playground scale: " << st.message() << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace shardkv::cli
