// `shardkv`: parse the command line (command_line.h), run one command.
#include <absl/synchronization/mutex.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/cluster_commands.h"
#include "client/cli/command_line.h"
#include "client/cli/commands.h"

namespace shardkv::cli {
namespace {

struct Dispatch {
  const GlobalOptions& global;
  int operator()(const HelpCommand& c) const {
    std::cout << HelpText(c.topic);
    return kExitOk;
  }
  int operator()(const GetCommand& c) const { return RunGet(global, c); }
  int operator()(const SetCommand& c) const { return RunSet(global, c); }
  int operator()(const DelCommand& c) const { return RunDel(global, c); }
  int operator()(const StatusCommand&) const { return RunStatus(global); }
  int operator()(const MemberCommand& c) const { return RunMember(global, c); }
  int operator()(const LeaderTransferCommand& c) const {
    return RunLeaderTransfer(global, c);
  }
  int operator()(const PlaygroundCommand& c) const { return RunPlayground(c); }
  int operator()(const BenchCommand& c) const { return RunBench(global, c); }
  int operator()(const RebalanceCommand& c) const {
    return RunRebalance(global, c);
  }
  int operator()(const ShardCommand& c) const { return RunShard(global, c); }
  int operator()(const SlotMoveCommand& c) const {
    return RunSlotMove(global, c);
  }
  int operator()(const MapCommand&) const { return RunMap(global); }
};

int Main(int argc, char** argv) {
  // Debian's abseil tracks a lock graph on every gRPC mutex acquisition
  // (deadlock detection); that costs the bench client several % of CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* env = std::getenv("SHARDKV_ENDPOINTS");
  auto parsed = ParseCommandLine(args, env ? env : "");
  if (!parsed.ok()) {
    std::cerr << "shardkv: " << parsed.status().message()
              << "\n(see shardkv help)\n";
    return kExitUsage;
  }
  return std::visit(Dispatch{parsed->global}, parsed->command);
}

}  // namespace
}  // namespace shardkv::cli

int main(int argc, char** argv) { return shardkv::cli::Main(argc, argv); }
