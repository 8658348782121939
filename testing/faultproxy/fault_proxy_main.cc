// shardkv-faultproxy --listen 127.0.0.1:PORT --target 127.0.0.1:PORT
// A FaultProxy controlled by commands on stdin, one per line:
//   pass | drop [both|c2t|t2c] | delay MS | reset | stats | quit
// Prints "listening on ADDR" once ready. For manual fault experiments;
// tests use the in-process API (fault_proxy.h).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "testing/faultproxy/fault_proxy.h"

namespace {

bool SplitHostPort(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *host = s.substr(0, colon);
  long p = std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (p < 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

bool Execute(shardkv::test::FaultProxy& proxy, const std::string& line) {
  using shardkv::test::Direction;
  std::istringstream in(line);
  std::string cmd, arg;
  in >> cmd >> arg;
  if (cmd == "pass") {
    proxy.Pass();
  } else if (cmd == "drop") {
    Direction d = arg == "c2t"   ? Direction::kClientToTarget
                  : arg == "t2c" ? Direction::kTargetToClient
                                 : Direction::kBoth;
    proxy.Drop(d);
  } else if (cmd == "delay") {
    proxy.SetDelay(std::chrono::milliseconds(std::atol(arg.c_str())));
  } else if (cmd == "reset") {
    proxy.ResetConnections();
  } else if (cmd == "stats") {
    std::printf("connections %zu forwarded %llu dropped %llu\n",
                proxy.ConnectionCount(),
                static_cast<unsigned long long>(proxy.BytesForwarded()),
                static_cast<unsigned long long>(proxy.BytesDropped()));
  } else if (cmd == "quit") {
    return false;
  } else if (!cmd.empty()) {
    std::fprintf(stderr, "unknown command: %s\n", cmd.c_str());
  }
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  shardkv::test::FaultProxyOptions options;
  options.name = "faultproxy";
  bool have_target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    bool ok = false;
    if (flag == "--listen") {
      ok = SplitHostPort(argv[i + 1], &options.listen_host,
                         &options.listen_port);
    } else if (flag == "--target") {
      ok = have_target = SplitHostPort(argv[i + 1], &options.target_host,
                                       &options.target_port);
    }
    if (!ok) have_target = false;
  }
  if (!have_target || argc % 2 == 0) {
    std::fprintf(stderr,
                 "usage: shardkv-faultproxy [--listen HOST:PORT] "
                 "--target HOST:PORT\n"
                 "stdin: pass | drop [both|c2t|t2c] | delay MS | reset | "
                 "stats | quit\n");
    return 2;
  }
  auto proxy = shardkv::test::FaultProxy::Start(options);
  if (!proxy.ok()) {
    std::fprintf(stderr, "%s\n", proxy.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", (*proxy)->address().c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line) && Execute(**proxy, line)) {
  }
  return 0;
}
