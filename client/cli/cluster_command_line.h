// Parsing of the `shardkv` commands that change a sharded cluster through
// its controller: rebalance, shard join|drain|cancel-drain|remove, slot
// move, map. Kept apart from command_line.cc (which registers them) so the
// data and admin commands stay readable. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "client/cli/flags.h"
#include "common/status.h"

namespace shardkv::cli {

struct RebalanceCommand {
  bool wait = false;
  bool dry_run = false;
};
struct ShardCommand {
  enum class Action { kJoin, kDrain, kCancelDrain, kRemove };
  Action action = Action::kJoin;
  uint32_t shard_id = 0;
  // kJoin: the shard's replicas, (id, host:port) in the order given.
  std::vector<std::pair<uint64_t, std::string>> members;
  bool wait = false;  // kDrain
};
struct SlotMoveCommand {
  uint32_t slot = 0;
  uint32_t to_shard = 0;
  bool wait = false;
};
struct MapCommand {};

StatusOr<RebalanceCommand> ParseRebalance(const ParsedFlags& f);
StatusOr<ShardCommand> ParseShard(const ParsedFlags& f);
StatusOr<SlotMoveCommand> ParseSlot(const ParsedFlags& f);
StatusOr<MapCommand> ParseMap(const ParsedFlags& f);

// "1=127.0.0.1:7101,2=127.0.0.1:7102" -> {(1, ...), (2, ...)}: non-zero
// distinct ids, host:port addresses.
StatusOr<std::vector<std::pair<uint64_t, std::string>>> ParseMemberList(
    const std::string& text);

// Usage texts of these commands, by command name.
const std::map<std::string, std::string>& ClusterHelpTopics();

}  // namespace shardkv::cli
