// NodeConfig: everything a shardkv-node is started with, parsed from flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/raft/types.h"
#include "node/storage/raft_log.h"

namespace shardkv::server {

enum class NodeRole { kShard, kController };

struct NodeConfig {
  raft::NodeId id = raft::kNoNode;
  // A replica of a data shard, or of the controller group (slot map).
  NodeRole role = NodeRole::kShard;
  // kShard: the shard this replica belongs to (0 = not given; shown in
  // status; the controller learns it at JoinShard).
  uint32_t shard_id = 0;
  // kController: slots of a new cluster (power of two, fixed at creation).
  uint32_t slot_count = 4096;
  // kController: bytes per second the slot migrations copy, over all of
  // them (0: no limit); keeps the shards serving clients during a move.
  uint64_t migration_copy_bytes_per_s = 64ull << 20;
  // kShard: the controller group's addresses (reported by Admin.Status so
  // clients given this node's address find the slot map).
  std::vector<std::string> controller_endpoints;
  std::string listen = "127.0.0.1:7001";
  // Address peers and clients use to reach this node (default: listen).
  std::string advertise;
  // Initial members (id -> address). With an empty data dir and this
  // node among them, the group is bootstrapped with them as voters.
  std::map<raft::NodeId, std::string> peers;
  // Start as a replica joining an existing group (added as a learner by
  // `shardkv member add`): no bootstrap, membership comes from the leader.
  bool join = false;
  std::string data_dir;
  // Identifies the group; peers of another cluster are refused.
  std::string cluster_id = "shardkv";

  int tick_ms = 50;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Linearizable reads under a leader lease [Raft thesis 6.4.1] instead of
  // a quorum round per batch; see ReadLeaseDuration.
  bool read_lease = true;

  // Persist the Raft log on the raft thread (one fsync per Ready, the
  // thread waiting) instead of on the log-writer thread. For comparison.
  bool classic_ready_loop = false;
  // Where the Raft log lives (node/storage/raft_log.h). A data dir keeps
  // the kind it was created with; the other is refused.
  storage::RaftLogKind raft_log = storage::RaftLogKind::kSegments;

  uint64_t max_key_bytes = 256;
  uint64_t max_value_bytes = 1 << 20;
  // Log entries kept after compaction, so a briefly lagging follower can
  // catch up from the log rather than a snapshot.
  uint64_t log_retain_entries = 10000;
  uint64_t compact_every_entries = 20000;
};

std::string NodeUsage();
// Parses argv; --help yields kNotFound with the usage as message.
StatusOr<NodeConfig> ParseNodeFlags(const std::vector<std::string>& args);
// How long a ReadIndex round keeps a leader's lease valid after it
// started; 0 when leases are off (or the election timeout too short).
std::chrono::milliseconds ReadLeaseDuration(const NodeConfig& config);
// "1=host:port,2=host:port".
StatusOr<std::map<raft::NodeId, std::string>> ParsePeers(
    const std::string& text);

}  // namespace shardkv::server
