// lincheck_tool HISTORY.jsonl [--timeout-seconds N]
// Checks a history saved with WriteHistoryFile() and prints the verdict per
// failing key. Exit status: 0 linearizable, 1 violation, 2 timeout,
// 3 usage or input error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "testing/lincheck/checker.h"
#include "testing/lincheck/history_json.h"

int main(int argc, char** argv) {
  using namespace shardkv::lincheck;
  std::string path;
  long timeout_seconds = 60;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--timeout-seconds" && i + 1 < argc) {
      timeout_seconds = std::strtol(argv[++i], nullptr, 10);
    } else if (path.empty() && arg.rfind("--", 0) != 0) {
      path = arg;
    } else {
      path.clear();
      break;
    }
  }
  if (path.empty() || timeout_seconds <= 0) {
    std::fprintf(stderr,
                 "usage: lincheck_tool HISTORY.jsonl [--timeout-seconds N]\n");
    return 3;
  }
  auto ops = ReadHistoryFile(path);
  if (!ops.ok()) {
    std::fprintf(stderr, "%s\n", ops.status().ToString().c_str());
    return 3;
  }
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  CheckResult result = Check(*ops, deadline);
  std::printf("%zu operations\n%s", ops->size(), result.Summary().c_str());
  switch (result.verdict) {
    case Verdict::kLinearizable:
    case Verdict::kSkipped:
      return 0;
    case Verdict::kViolation:
      return 1;
    case Verdict::kTimeout:
      return 2;
  }
  return 3;
}
