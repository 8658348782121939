// The `shardkv` command line, parsed into one struct per command so that
// parsing is unit-tested apart from running (main.cc only dispatches).
// Pure functions; thread-safe.
//
// Exit codes of the CLI (documented in `shardkv help`):
//   0 success; 1 key not found (get); 2 bad usage; 3 condition failed
//   (set/del with --if-absent/--if-version); 4 any other error.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client/cli/cluster_command_line.h"
#include "common/status.h"

namespace shardkv::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,
  kExitUsage = 2,
  kExitConditionFailed = 3,
  kExitError = 4,
};

inline constexpr char kDefaultEndpoints[] =
    "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";

struct GlobalOptions {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds timeout{5000};
};

struct HelpCommand {
  std::string topic;  // "" = overview, else a command name
};
struct GetCommand {
  std::string key;
  bool stale = false;
  bool verbose = false;
};
struct SetCommand {
  std::string key;
  std::string value;
  std::chrono::milliseconds ttl{0};
  bool if_absent = false;
  std::optional<uint64_t> if_version;
};
struct DelCommand {
  std::string key;
  std::optional<uint64_t> if_version;
};
struct StatusCommand {};
struct MemberCommand {
  enum class Action { kAdd, kPromote, kRemove };
  Action action = Action::kAdd;
  uint64_t id = 0;
  std::string address;  // kAdd only
};
struct LeaderTransferCommand {
  uint64_t id = 0;  // 0 = let the leader choose
};
struct PlaygroundCommand {
  // kRun starts (or restarts) a playground; kScale asks the running one on
  // data_dir to grow or shrink to `shards`.
  enum class Action { kRun, kScale };
  Action action = Action::kRun;
  int shards = 1;
  int replicas = 3;
  // Controller replicas: 1 or 3; 0 = one unsharded shard, no controller.
  int controllers = 1;
  // Slots of a new cluster (0 = the controller's default, 4096).
  int slot_count = 0;
  std::string data_dir = "playground-data";
  int base_port = 7001;
};
struct BenchCommand {
  int clients = 64;
  std::chrono::milliseconds duration{10'000};
  std::chrono::milliseconds warmup{2'000};
  uint64_t value_size = 256;
  uint64_t keys = 100'000;
  double read_ratio = 0.5;
  bool stale = false;
  bool load = false;
  std::string target = "shardkv";  // shardkv | etcd | redis
  std::string workload;            // "" = --read-ratio mix; else A B C D F
  std::string distribution;        // "" = zipfian for A-F, else uniform
  double rate = 0;                 // offered ops/s; 0 = closed loop
  std::string json_path;           // --json FILE; "" = none
  int batch_in_flight = 0;         // --batch N: KV.Batch, N calls in flight
};

using Command =
    std::variant<HelpCommand, GetCommand, SetCommand, DelCommand, StatusCommand,
                 MemberCommand, LeaderTransferCommand, PlaygroundCommand,
                 BenchCommand, RebalanceCommand, ShardCommand, SlotMoveCommand,
                 MapCommand>;

struct CommandLine {
  GlobalOptions global;
  Command command;
};

// `args` excludes argv[0]. `env_endpoints` is $SHARDKV_ENDPOINTS ("" when
// unset); --endpoints wins over it, and both over kDefaultEndpoints.
StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                       const std::string& env_endpoints);

// Usage text for `topic` ("" = overview); unknown topics get the overview.
std::string HelpText(const std::string& topic);

}  // namespace shardkv::cli
