#include "node/server/node_config.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "common/duration.h"
#include "common/slot.h"

namespace shardkv::server {
namespace {

StatusOr<uint64_t> ParseUint(const std::string& flag, const std::string& v) {
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    return InvalidArgument("flag " + flag + ": '" + v +
                           "' is not a non-negative integer");
  }
  return out;
}

bool ValidAddress(const std::string& a) {
  auto colon = a.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < a.size();
}

}  // namespace

std::string NodeUsage() {
  return R"(usage: shardkv-node --id N --data-dir DIR [flags]

Runs one replica of a shardkv shard (one member of its Raft group).

  --id N                 this replica's Raft id (>= 1, unique in the group)
  --role shard|controller  a data shard's replica (default) or one of the
                         controller group, which holds the slot map
  --shard-id N           the shard this replica belongs to (role shard)
  --controller H:P,...   the controller group's addresses (role shard)
  --slot-count N         slots of a new cluster, a power of two up to 65536
                         (role controller; default 4096; fixed at creation)
  --migration-copy-rate BYTES  per second the slot migrations copy, over
                         all of them (role controller; default 64MiB; 0: no
                         limit)
  --listen HOST:PORT     gRPC address to serve on (default 127.0.0.1:7001)
  --advertise HOST:PORT  address others reach this replica at (default --listen)
  --peers ID=ADDR,...    initial members, this one included; with an empty
                         data dir the group is bootstrapped with them
  --join                 join an existing group (after `shardkv member add`)
  --data-dir DIR         where RocksDB keeps the log and the data
  --cluster-id NAME      refuse peers of another cluster (default shardkv)
  --tick 50ms            Raft tick; --election-ticks 10, --heartbeat-ticks 1
  --max-value-bytes N    largest value accepted (default 1MiB)
  --log-retain-entries N log entries kept behind the applied index (10000)
  --classic-ready-loop   fsync the log on the raft thread (default: on a
                         separate log-writer thread, group-committing)
  --compact-every-entries N  compact once this many entries beyond the
                         retained ones are applied (20000)
  --read-lease on|off    answer linearizable reads under a leader lease
                         (default on; assumes clocks advance at the same
                         rate within 10 %, see docs/raft.md) or with a
                         quorum round per batch of reads (off)
  --raft-log KIND        segments (own segment files, default) or rocksdb
                         (column families of the data's RocksDB); a data
                         dir keeps the kind it was created with
)";
}

StatusOr<std::map<raft::NodeId, std::string>> ParsePeers(
    const std::string& text) {
  std::map<raft::NodeId, std::string> peers;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--peers: '" + item + "' is not ID=HOST:PORT");
    }
    auto id = ParseUint("--peers", item.substr(0, eq));
    if (!id.ok()) return id.status();
    std::string addr = item.substr(eq + 1);
    if (*id == 0) return InvalidArgument("--peers: ids start at 1");
    if (!ValidAddress(addr)) {
      return InvalidArgument("--peers: '" + addr + "' is not HOST:PORT");
    }
    if (!peers.emplace(*id, addr).second) {
      return InvalidArgument("--peers: id " + std::to_string(*id) +
                             " appears twice");
    }
  }
  return peers;
}

StatusOr<NodeConfig> ParseNodeFlags(const std::vector<std::string>& args) {
  NodeConfig c;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline = false;
    if (auto eq = flag.find('=');
        eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline = true;
    }
    if (flag == "--help" || flag == "-h") return NotFound(NodeUsage());
    if (flag == "--join") {
      c.join = true;
      continue;
    }
    if (flag == "--classic-ready-loop") {
      c.classic_ready_loop = true;
      continue;
    }
    static const char* kValueFlags[] = {"--id",
                                        "--role",
                                        "--shard-id",
                                        "--slot-count",
                                        "--migration-copy-rate",
                                        "--controller",
                                        "--listen",
                                        "--advertise",
                                        "--peers",
                                        "--data-dir",
                                        "--cluster-id",
                                        "--tick",
                                        "--election-ticks",
                                        "--heartbeat-ticks",
                                        "--max-value-bytes",
                                        "--log-retain-entries",
                                        "--compact-every-entries",
                                        "--raft-log",
                                        "--read-lease"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) ==
        std::end(kValueFlags)) {
      return InvalidArgument("unknown flag " + flag + " (see --help)");
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        return InvalidArgument("flag " + flag + " needs a value");
      }
      value = args[++i];
    }
    auto uint_flag = [&](uint64_t* out) -> Status {
      auto v = ParseUint(flag, value);
      if (!v.ok()) return v.status();
      *out = *v;
      return Status::Ok();
    };
    uint64_t n = 0;
    if (flag == "--id") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&c.id));
    } else if (flag == "--role") {
      if (value == "shard") {
        c.role = NodeRole::kShard;
      } else if (value == "controller") {
        c.role = NodeRole::kController;
      } else {
        return InvalidArgument("--role: '" + value +
                               "' is not shard or controller");
      }
    } else if (flag == "--shard-id") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&n));
      if (n == 0 || n > UINT32_MAX) {
        return InvalidArgument("--shard-id must be in [1, 4294967295]");
      }
      c.shard_id = static_cast<uint32_t>(n);
    } else if (flag == "--slot-count") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&n));
      if (!ValidSlotCount(n)) {
        return InvalidArgument("--slot-count must be a power of two in [1, " +
                               std::to_string(kMaxSlotCount) + "], not " +
                               value);
      }
      c.slot_count = static_cast<uint32_t>(n);
    } else if (flag == "--controller") {
      c.controller_endpoints.clear();
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string item = value.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) continue;
        if (!ValidAddress(item)) {
          return InvalidArgument("--controller: '" + item +
                                 "' is not HOST:PORT");
        }
        c.controller_endpoints.push_back(item);
      }
    } else if (flag == "--listen") {
      c.listen = value;
    } else if (flag == "--advertise") {
      c.advertise = value;
    } else if (flag == "--peers") {
      auto peers = ParsePeers(value);
      if (!peers.ok()) return peers.status();
      c.peers = *peers;
    } else if (flag == "--data-dir") {
      c.data_dir = value;
    } else if (flag == "--cluster-id") {
      c.cluster_id = value;
    } else if (flag == "--tick") {
      auto d = ParseDuration(value);
      if (!d.ok()) return d.status();
      c.tick_ms = static_cast<int>(d->count());
    } else if (flag == "--election-ticks") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&n));
      c.election_ticks = static_cast<int>(n);
    } else if (flag == "--heartbeat-ticks") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&n));
      c.heartbeat_ticks = static_cast<int>(n);
    } else if (flag == "--max-value-bytes") {
      auto v = ParseByteSize(value);
      if (!v.ok()) return v.status();
      c.max_value_bytes = *v;
    } else if (flag == "--migration-copy-rate") {
      auto v = ParseByteSize(value);
      if (!v.ok()) return v.status();
      c.migration_copy_bytes_per_s = *v;
    } else if (flag == "--log-retain-entries") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&c.log_retain_entries));
    } else if (flag == "--compact-every-entries") {
      SHARDKV_RETURN_IF_ERROR(uint_flag(&c.compact_every_entries));
    } else if (flag == "--read-lease") {
      if (value != "on" && value != "off") {
        return InvalidArgument("--read-lease: '" + value +
                               "' is not on or off");
      }
      c.read_lease = value == "on";
    } else if (flag == "--raft-log") {
      auto kind = storage::ParseRaftLogKind(value);
      if (!kind.ok())
        return InvalidArgument("--raft-log: " + kind.status().message());
      c.raft_log = *kind;
    } else {
      return InvalidArgument("unknown flag " + flag + " (see --help)");
    }
  }
  if (c.id == 0) return InvalidArgument("--id is required (>= 1)");
  if (c.data_dir.empty()) return InvalidArgument("--data-dir is required");
  if (!ValidAddress(c.listen)) {
    return InvalidArgument("--listen: '" + c.listen + "' is not HOST:PORT");
  }
  if (c.advertise.empty()) c.advertise = c.listen;
  if (auto it = c.peers.find(c.id);
      it != c.peers.end() && it->second != c.advertise) {
    return InvalidArgument("--peers names " + it->second + " for id " +
                           std::to_string(c.id) + " but this node is at " +
                           c.advertise);
  }
  if (!c.join && !c.peers.empty() && !c.peers.contains(c.id)) {
    return InvalidArgument("--peers must include this node's id " +
                           std::to_string(c.id) + " (or pass --join)");
  }
  if (c.max_value_bytes > (64u << 20)) {
    return InvalidArgument("--max-value-bytes above 64MiB is not supported");
  }
  if (c.tick_ms <= 0 || c.election_ticks <= c.heartbeat_ticks ||
      c.heartbeat_ticks <= 0) {
    return InvalidArgument(
        "need --tick > 0 and --election-ticks > --heartbeat-ticks > 0");
  }
  return c;
}

std::chrono::milliseconds ReadLeaseDuration(const NodeConfig& c) {
  // A voter that acknowledged us at time h refuses votes until its
  // election_ticks-th tick after h, which comes no sooner than
  // (election_ticks - 2) ticks after h (the first tick may be one that was
  // due before h; replica.cc's loop never schedules two ticks closer than
  // one period otherwise). 10 % off covers clock rate differences.
  if (!c.read_lease || c.election_ticks <= 2) {
    return std::chrono::milliseconds(0);
  }
  int64_t ms = int64_t{c.election_ticks - 2} * c.tick_ms * 9 / 10;
  return std::chrono::milliseconds(ms);
}

}  // namespace shardkv::server
