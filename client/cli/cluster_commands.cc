// rebalance, shard join|drain|cancel-drain|remove, slot move, map, and the
// sharded form of `status`: through the controller (ControllerClient),
// found from --endpoints like the routing client finds it.
#include "client/cli/cluster_commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "client/admin_client.h"
#include "client/cli/migration_wait.h"
#include "client/cli/progress_bar.h"
#include "client/routing_client.h"
#include "client/slot_map_cache.h"

namespace shardkv::cli {
namespace {

using client::ControllerClient;

int Fail(const Status& status) {
  std::cerr << "error: " << status.ToString() << "\n";
  return kExitError;
}

const char* StateName(v1::ShardState s) {
  return s == v1::SHARD_DRAINING ? "draining" : "active";
}

const char* PhaseName(v1::MigrationPhase p) {
  switch (p) {
    case v1::MIGRATION_PREPARING:
      return "preparing";
    case v1::MIGRATION_COPYING:
      return "copying";
    case v1::MIGRATION_FREEZING:
      return "freezing";
    case v1::MIGRATION_SWITCHED:
      return "switched";
    default:
      return "unknown";
  }
}

uint64_t SlotsOwnedBy(const v1::SlotMap& map, uint32_t shard) {
  return static_cast<uint64_t>(
      std::count(map.slot_owner().begin(), map.slot_owner().end(), shard));
}

// "0-1365,2000,2002-2010": the slots `shard` owns as ranges.
std::string SlotRanges(const v1::SlotMap& map, uint32_t shard) {
  std::string out;
  int n = map.slot_owner_size();
  for (int s = 0; s < n;) {
    if (map.slot_owner(s) != shard) {
      ++s;
      continue;
    }
    int e = s;
    while (e + 1 < n && map.slot_owner(e + 1) == shard) ++e;
    if (!out.empty()) out += ",";
    out += std::to_string(s);
    if (e > s) out += "-" + std::to_string(e);
    s = e + 1;
  }
  return out.empty() ? "-" : out;
}

// The slots a migration moves, as ranges ("12-19,40"); a migration written
// before batches has only `slot`.
std::string MigrationSlotList(const v1::Migration& m) {
  std::set<uint32_t> unique;
  for (uint32_t slot : m.slots()) unique.insert(slot);
  if (unique.empty()) unique.insert(m.slot());
  const std::vector<uint32_t> slots(unique.begin(), unique.end());
  std::string out;
  for (size_t i = 0; i < slots.size();) {
    size_t j = i;
    while (j + 1 < slots.size() && slots[j + 1] == slots[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(slots[i]);
    if (j > i) out += "-" + std::to_string(slots[j]);
    i = j + 1;
  }
  return out;
}

void PrintMigrations(const v1::SlotMap& map) {
  if (map.migrations_size() == 0) {
    std::printf("migrations in flight: none\n");
  } else {
    std::printf("migrations in flight: %d\n", map.migrations_size());
    std::printf("  %-5s %-5s %-10s %-10s %-10s %s\n", "FROM", "TO", "PHASE",
                "KEYS", "BYTES", "SLOTS");
    for (const v1::Migration& m : map.migrations()) {
      std::printf("  %-5u %-5u %-10s %-10llu %-10s %s\n", m.from_shard(),
                  m.to_shard(), PhaseName(m.phase()),
                  static_cast<unsigned long long>(m.keys_copied()),
                  FormatBytes(m.bytes_copied()).c_str(),
                  MigrationSlotList(m).c_str());
    }
  }
  const v1::MigrationTotals& t = map.totals();
  std::printf("totals: %llu slots moved, %s, %llu keys, %llu cancelled\n",
              static_cast<unsigned long long>(t.slots_moved()),
              FormatBytes(t.bytes_moved()).c_str(),
              static_cast<unsigned long long>(t.keys_moved()),
              static_cast<unsigned long long>(t.cancelled()));
}

void PrintMapHeader(const v1::SlotMap& map) {
  uint64_t unassigned = SlotsOwnedBy(map, 0);
  std::printf("epoch %llu, %u slots, %d shards%s%s\n",
              static_cast<unsigned long long>(map.epoch()), map.slot_count(),
              map.shards_size(), map.rebalancing() ? ", rebalancing" : "",
              unassigned ? (", " + std::to_string(unassigned) +
                            " slots unassigned (run shardkv rebalance)")
                               .c_str()
                         : "");
}

// One row per replica of a group: its own view (role, term, applied index,
// the slot epoch it has applied).
void PrintReplicas(client::AdminClient& admin,
                   const std::vector<std::string>& addresses) {
  std::printf("  %-4s %-22s %-10s %-6s %-9s %-6s %s\n", "ID", "ADDRESS", "ROLE",
              "TERM", "APPLIED", "EPOCH", "READY");
  for (const std::string& address : addresses) {
    auto s = admin.Status(address);
    if (!s.ok()) {
      std::printf("  %-4s %-22s unreachable (%s)\n", "-", address.c_str(),
                  s.status().ToString().c_str());
      continue;
    }
    const char* role = s->role() == v1::ROLE_LEADER     ? "leader"
                       : s->role() == v1::ROLE_LEARNER  ? "learner"
                       : s->role() == v1::ROLE_FOLLOWER ? "follower"
                                                        : "candidate";
    // The controller's replicas hold the map itself: no slot epoch.
    std::string epoch =
        s->node_role() == "controller" ? "-" : std::to_string(s->slot_epoch());
    std::printf("  %-4llu %-22s %-10s %-6llu %-9llu %-6s %s\n",
                static_cast<unsigned long long>(s->id()), address.c_str(), role,
                static_cast<unsigned long long>(s->term()),
                static_cast<unsigned long long>(s->applied_index()),
                epoch.c_str(), s->ready() ? "yes" : "no");
  }
}

std::unique_ptr<client::AdminClient> QuickAdmin(
    const GlobalOptions& global, const std::vector<std::string>& addresses) {
  client::AdminOptions o;
  o.endpoints = addresses;
  // One slow replica should not hold the table up for the whole timeout.
  o.timeout = std::min(global.timeout, std::chrono::milliseconds(2000));
  auto admin = client::AdminClient::Create(o);
  return admin.ok() ? std::move(admin).value() : nullptr;
}

int WaitAndReport(ControllerClient& controller, const v1::SlotMap& base,
                  uint64_t total,
                  const std::function<bool(const v1::SlotMap&)>& done) {
  ProgressBar bar(stderr);
  auto final_map = WaitForMigrations(controller, base, total, done, &bar);
  if (!final_map.ok()) return Fail(final_map.status());
  Progress p = MigrationProgress(base, *final_map, total);
  std::printf("done: %llu slots moved, %s (epoch %llu)\n",
              static_cast<unsigned long long>(p.done),
              FormatBytes(p.bytes).c_str(),
              static_cast<unsigned long long>(final_map->epoch()));
  return kExitOk;
}

}  // namespace

StatusOr<ClusterConnection> ConnectCluster(const GlobalOptions& global) {
  client::RoutingClientOptions o;
  o.endpoints = global.endpoints;
  o.timeout = global.timeout;
  o.watch_map = false;
  auto routing = client::RoutingClient::Create(o);
  if (!routing.ok()) return routing.status();
  ClusterConnection c;
  if (!(*routing)->sharded()) return c;
  c.map = *(*routing)->slot_map();
  client::ControllerOptions co;
  co.endpoints = (*routing)->controller_endpoints();
  co.timeout = global.timeout;
  auto controller = ControllerClient::Create(co);
  if (!controller.ok()) return controller.status();
  c.controller = std::move(controller).value();
  return c;
}

StatusOr<ClusterConnection> ConnectController(const GlobalOptions& global) {
  auto c = ConnectCluster(global);
  if (!c.ok()) return c.status();
  if (!c->controller) {
    return FailedPrecondition(
        "the cluster at --endpoints has no controller: it is a single "
        "unsharded shard (give the controller's or a sharded node's address)");
  }
  return c;
}

void PrintClusterStatus(const GlobalOptions& global,
                        const ClusterConnection& c) {
  const v1::SlotMap& map = c.map;
  PrintMapHeader(map);
  std::vector<std::string> controllers = c.controller->options().endpoints;
  if (auto admin = QuickAdmin(global, controllers)) {
    std::printf("\ncontroller\n");
    PrintReplicas(*admin, controllers);
  }
  for (const v1::Shard& shard : map.shards()) {
    std::vector<std::string> addresses;
    for (const v1::Member& m : shard.members()) {
      if (!m.address().empty()) addresses.push_back(m.address());
    }
    std::printf("\nshard %u  %s  %llu slots  %d replica(s)\n", shard.id(),
                StateName(shard.state()),
                static_cast<unsigned long long>(SlotsOwnedBy(map, shard.id())),
                shard.members_size());
    if (addresses.empty()) continue;
    if (auto admin = QuickAdmin(global, addresses)) {
      PrintReplicas(*admin, addresses);
    }
  }
  std::printf("\n");
  PrintMigrations(map);
}

int RunMap(const GlobalOptions& global) {
  auto c = ConnectController(global);
  if (!c.ok()) return Fail(c.status());
  const v1::SlotMap& map = c->map;
  PrintMapHeader(map);
  std::printf("%-6s %-10s %-6s %s\n", "SHARD", "STATE", "SLOTS", "RANGES");
  for (const v1::Shard& shard : map.shards()) {
    std::printf("%-6u %-10s %-6llu %s\n", shard.id(), StateName(shard.state()),
                static_cast<unsigned long long>(SlotsOwnedBy(map, shard.id())),
                SlotRanges(map, shard.id()).c_str());
  }
  if (SlotsOwnedBy(map, 0) > 0) {
    std::printf("%-6s %-10s %-6llu %s\n", "-", "unassigned",
                static_cast<unsigned long long>(SlotsOwnedBy(map, 0)),
                SlotRanges(map, 0).c_str());
  }
  PrintMigrations(map);
  return kExitOk;
}

int RunRebalance(const GlobalOptions& global, const RebalanceCommand& command) {
  auto c = ConnectController(global);
  if (!c.ok()) return Fail(c.status());
  auto r = c->controller->Rebalance(command.dry_run);
  if (!r.ok()) return Fail(r.status());
  if (command.dry_run) {
    std::map<std::pair<uint32_t, uint32_t>, int> by_pair;
    for (const v1::PlannedMove& m : r->moves()) {
      ++by_pair[{m.from_shard(), m.to_shard()}];
    }
    std::printf("plan: %d slots to move, %u unassigned slots to assign\n",
                r->moves_size(), r->assigned());
    for (const auto& [pair, n] : by_pair) {
      std::printf("  shard %u -> shard %u: %d slots\n", pair.first, pair.second,
                  n);
    }
    return kExitOk;
  }
  std::printf("rebalance: %d slots to move, %u slots assigned (epoch %llu)\n",
              r->moves_size(), r->assigned(),
              static_cast<unsigned long long>(r->map().epoch()));
  if (!command.wait) return kExitOk;
  return WaitAndReport(*c->controller, r->map(),
                       static_cast<uint64_t>(r->moves_size()),
                       MigrationsSettled);
}

int RunShard(const GlobalOptions& global, const ShardCommand& command) {
  auto c = ConnectController(global);
  if (!c.ok()) return Fail(c.status());
  ControllerClient& controller = *c->controller;
  uint32_t id = command.shard_id;
  StatusOr<v1::SlotMap> r = Internal("no action");
  switch (command.action) {
    case ShardCommand::Action::kJoin: {
      std::vector<v1::Member> members;
      for (const auto& [member_id, address] : command.members) {
        v1::Member m;
        m.set_id(member_id);
        m.set_address(address);
        members.push_back(m);
      }
      r = controller.JoinShard(id, members);
      if (!r.ok()) return Fail(r.status());
      std::printf(
          "shard %u joined with %zu members (epoch %llu); run "
          "`shardkv rebalance` to move slots to it\n",
          id, members.size(), static_cast<unsigned long long>(r->epoch()));
      return kExitOk;
    }
    case ShardCommand::Action::kDrain: {
      r = controller.DrainShard(id);
      if (!r.ok()) return Fail(r.status());
      uint64_t owned = SlotsOwnedBy(*r, id);
      std::printf("shard %u draining: %llu slots to move (epoch %llu)\n", id,
                  static_cast<unsigned long long>(owned),
                  static_cast<unsigned long long>(r->epoch()));
      if (!command.wait) return kExitOk;
      return WaitAndReport(controller, *r, owned, [id](const v1::SlotMap& m) {
        for (const v1::Migration& mig : m.migrations()) {
          if (mig.from_shard() == id || mig.to_shard() == id) return false;
        }
        return SlotsOwnedBy(m, id) == 0;
      });
    }
    case ShardCommand::Action::kCancelDrain:
      r = controller.CancelDrain(id);
      if (!r.ok()) return Fail(r.status());
      std::printf("shard %u active again (epoch %llu)\n", id,
                  static_cast<unsigned long long>(r->epoch()));
      return kExitOk;
    case ShardCommand::Action::kRemove:
      r = controller.RemoveShard(id);
      if (!r.ok()) return Fail(r.status());
      std::printf("shard %u removed (epoch %llu)\n", id,
                  static_cast<unsigned long long>(r->epoch()));
      return kExitOk;
  }
  return kExitError;
}

int RunSlotMove(const GlobalOptions& global, const SlotMoveCommand& command) {
  auto c = ConnectController(global);
  if (!c.ok()) return Fail(c.status());
  if (command.slot >= c->map.slot_count()) {
    std::cerr << "error: slot " << command.slot
              << " does not exist (the map has " << c->map.slot_count()
              << " slots)\n";
    return kExitUsage;
  }
  auto r = c->controller->MoveSlot(command.slot, command.to_shard);
  if (!r.ok()) return Fail(r.status());
  const v1::Migration& m = r->migration();
  std::printf("slot %u: moving from shard %u to shard %u (migration %llu)\n",
              m.slot(), m.from_shard(), m.to_shard(),
              static_cast<unsigned long long>(m.id()));
  if (!command.wait) return kExitOk;
  ProgressBar bar(stderr);
  uint64_t migration_id = m.id();
  uint32_t slot = command.slot;
  uint32_t to = command.to_shard;
  // The map we hold predates the migration: it is over once we have seen
  // it in a map and then no longer, or the slot is at the target.
  bool seen = false;
  auto over = [&](const v1::SlotMap& map) {
    for (const v1::Migration& x : map.migrations()) {
      if (x.id() == migration_id) {
        seen = true;
        return false;
      }
    }
    return seen || map.slot_owner(static_cast<int>(slot)) == to;
  };
  auto final_map = WaitForMigrations(*c->controller, c->map, 1, over, &bar);
  if (!final_map.ok()) return Fail(final_map.status());
  uint32_t owner = final_map->slot_owner(static_cast<int>(command.slot));
  if (owner != command.to_shard) {
    std::cerr << "error: the migration ended without moving the slot "
                 "(cancelled?); slot "
              << command.slot << " is owned by shard " << owner << "\n";
    return kExitError;
  }
  std::printf("done: slot %u is owned by shard %u (epoch %llu)\n", command.slot,
              owner, static_cast<unsigned long long>(final_map->epoch()));
  return kExitOk;
}

}  // namespace shardkv::cli
