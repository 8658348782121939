// `shardkv playground scale --shards N`: asks the playground running on the
// data dir (playground_control.h) to grow or shrink, and draws its progress
// (slots moved of the slots to move, bytes moved) with progress_bar.h.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "client/cli/commands.h"
#include "client/cli/playground_control.h"
#include "client/cli/progress_bar.h"

namespace shardkv::cli {
namespace {

// Draws the playground's reply lines: "progress STEP MOVED TOTAL BYTES
// IN_FLIGHT" on the shared progress bar (progress_bar.h), anything else as a
// text line.
class ScaleDisplay {
 public:
  ScaleDisplay() : bar_(stdout) {}
  ~ScaleDisplay() { EndBar(); }

  void Line(const std::string& line) {
    std::istringstream in(line);
    std::string kind, step;
    in >> kind;
    if (kind != "progress") {
      EndBar();
      std::cout << line.substr(line.find(' ') + 1) << std::endl;
      return;
    }
    Progress p;
    in >> step >> p.done >> p.total >> p.bytes >> p.in_flight;
    p.note = step;
    if (p.total == 0) {  // a step without slot moves
      EndBar();
      std::cout << step << std::endl;
      return;
    }
    bar_.Update(p);
    last_ = p;
    drawing_ = true;
  }

 private:
  void EndBar() {
    if (drawing_) bar_.Finish(last_);
    drawing_ = false;
  }

  ProgressBar bar_;
  Progress last_;
  bool drawing_ = false;
};

}  // namespace

int RunPlaygroundScale(const PlaygroundCommand& command) {
  std::string dir =
      std::filesystem::absolute(command.data_dir).lexically_normal().string();
  ScaleDisplay display;
  Status st = RunControlRequest(
      dir + "/control.sock", "scale " + std::to_string(command.shards),
      [&](const std::string& line) { display.Line(line); });
  if (!st.ok()) {
    std::cerr << "playground scale: " << st.message() << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace shardkv::cli
