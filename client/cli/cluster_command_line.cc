#include "client/cli/cluster_command_line.h"

#include <limits>
#include <set>

#include "common/slot.h"

namespace shardkv::cli {
namespace {

StatusOr<uint32_t> ShardId(const std::string& text) {
  auto id = ParseUint(text, "shard ID");
  if (!id.ok()) return id.status();
  if (*id == 0 || *id > std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("shard ID must be in [1, 4294967295], got " + text);
  }
  return static_cast<uint32_t>(*id);
}

}  // namespace

StatusOr<std::vector<std::pair<uint64_t, std::string>>> ParseMemberList(
    const std::string& text) {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::set<uint64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--members item '" + item +
                             "' is not ID=HOST:PORT");
    }
    auto id = ParseUint(item.substr(0, eq), "member ID");
    if (!id.ok()) return id.status();
    if (*id == 0) return InvalidArgument("member ID must be positive");
    std::string address = item.substr(eq + 1);
    auto list = ParseEndpointList(address);  // checks host:port
    if (!list.ok() || list->size() != 1) {
      return InvalidArgument("member address '" + address +
                             "' is not host:port");
    }
    if (!ids.insert(*id).second) {
      return InvalidArgument("member ID " + std::to_string(*id) +
                             " given twice");
    }
    out.emplace_back(*id, address);
    start = comma + 1;
  }
  return out;
}

StatusOr<RebalanceCommand> ParseRebalance(const ParsedFlags& f) {
  if (!f.positional.empty()) {
    return InvalidArgument("'rebalance' takes no arguments");
  }
  RebalanceCommand c;
  c.wait = f.Has("wait");
  c.dry_run = f.Has("dry-run");
  if (c.wait && c.dry_run) {
    return InvalidArgument("--wait and --dry-run are exclusive");
  }
  return c;
}

StatusOr<ShardCommand> ParseShard(const ParsedFlags& f) {
  const auto& p = f.positional;
  if (p.size() != 2) {
    return InvalidArgument(
        "usage: shard join ID --members ID=ADDR,... | shard drain ID "
        "[--wait] | shard cancel-drain ID | shard remove ID");
  }
  ShardCommand c;
  if (p[0] == "join") {
    c.action = ShardCommand::Action::kJoin;
  } else if (p[0] == "drain") {
    c.action = ShardCommand::Action::kDrain;
  } else if (p[0] == "cancel-drain") {
    c.action = ShardCommand::Action::kCancelDrain;
  } else if (p[0] == "remove") {
    c.action = ShardCommand::Action::kRemove;
  } else {
    return InvalidArgument("unknown 'shard' action '" + p[0] +
                           "' (join, drain, cancel-drain, remove)");
  }
  auto id = ShardId(p[1]);
  if (!id.ok()) return id.status();
  c.shard_id = *id;
  bool join = c.action == ShardCommand::Action::kJoin;
  if (join != f.Has("members")) {
    return InvalidArgument(join ? "'shard join' needs --members ID=ADDR,..."
                                : "--members goes with 'shard join' only");
  }
  if (join) {
    auto members = ParseMemberList(*f.Get("members"));
    if (!members.ok()) return members.status();
    c.members = std::move(*members);
  }
  c.wait = f.Has("wait");
  if (c.wait && c.action != ShardCommand::Action::kDrain) {
    return InvalidArgument("--wait goes with 'shard drain' only");
  }
  return c;
}

StatusOr<SlotMoveCommand> ParseSlot(const ParsedFlags& f) {
  const auto& p = f.positional;
  if (p.size() != 2 || p[0] != "move") {
    return InvalidArgument("usage: slot move SLOT --to SHARD [--wait]");
  }
  SlotMoveCommand c;
  auto slot = ParseUint(p[1], "SLOT");
  if (!slot.ok()) return slot.status();
  if (*slot >= kMaxSlotCount) {
    return InvalidArgument("SLOT must be below " +
                           std::to_string(kMaxSlotCount));
  }
  c.slot = static_cast<uint32_t>(*slot);
  auto to = f.Get("to");
  if (!to) return InvalidArgument("'slot move' needs --to SHARD");
  auto shard = ShardId(*to);
  if (!shard.ok()) return shard.status();
  c.to_shard = *shard;
  c.wait = f.Has("wait");
  return c;
}

StatusOr<MapCommand> ParseMap(const ParsedFlags& f) {
  if (!f.positional.empty()) return InvalidArgument("'map' takes no arguments");
  return MapCommand{};
}

const std::map<std::string, std::string>& ClusterHelpTopics() {
  static const std::map<std::string, std::string> topics = {
      {"rebalance", R"TXT(usage: shardkv rebalance [--wait] [--dry-run]
Asks the controller to even out the slots over the active shards (and to
empty draining ones), moving the fewest slots, a few at a time. Prints the
number of slots to move.
  --dry-run   print the planned moves without starting them
  --wait      show a progress bar (slots and bytes moved) on stderr until
              no migration is in flight and rebalancing has finished
)TXT"},
      {"shard", R"TXT(usage: shardkv shard join ID --members ID=HOST:PORT,...
       shardkv shard drain ID [--wait]
       shardkv shard cancel-drain ID
       shardkv shard remove ID
join          add (or update the members of) shard ID in the slot map; its
              replicas must already run (shardkv-node --shard-id ID);
              `shardkv rebalance` then moves slots to it
drain         move every slot away from shard ID (scale-in); --wait shows
              the progress until it owns none
cancel-drain  make a draining shard active again
remove        forget a drained shard (it must own no slot)
)TXT"},
      {"slot", R"TXT(usage: shardkv slot move SLOT --to SHARD [--wait]
Moves one slot to shard SHARD online (copy, catch up, cut over). --wait
shows the progress until the migration has finished. `shardkv map` shows
which shard owns which slots.
)TXT"},
      {"map", R"TXT(usage: shardkv map
Prints the slot map: its epoch and slot count, and for every shard its
state, how many slots it owns and their ranges; then migrations in flight.
)TXT"},
  };
  return topics;
}

}  // namespace shardkv::cli
