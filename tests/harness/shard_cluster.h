// ShardCluster: N real `shardkv-node` processes of one shard on loopback,
// for the multi-process fault tests.
//
// Node ids are 1..N; data dirs and logs live under one TempDir
// (node<i>/data, node<i>.log). With `proxies`, every directed peer link goes
// through a FaultProxy: node i reaches node j at proxy P_ij (node i's --peers
// names P_ij for j; its own entry is its real address, which it also
// advertises). The server learns a peer's address from incoming batches
// only when it has none, so all peer traffic stays on the proxies and a
// node can be cut off both ways. Clients and the harness always use the
// real addresses.
//
// Thread-safety: not thread-safe; owned and driven by the test's main
// thread (children are tied to it, see testing/cluster/process.h).
// Invariant: node(i) exists for every id ever started; removed nodes stay
// listed (stopped) so their logs are kept together.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/admin_client.h"
#include "common/status.h"
#include "shardkv/v1/kv.pb.h"
#include "testing/cluster/process.h"
#include "testing/cluster/temp_dir.h"
#include "testing/faultproxy/fault_proxy.h"

namespace shardkv::test {

using NodeId = uint64_t;
using std::chrono::milliseconds;

struct ClusterOptions {
  std::string name = "cluster";  // TempDir prefix, for finding the logs
  int nodes = 3;
  bool proxies = false;  // a FaultProxy on every directed peer link
  std::string tick = "20ms";
  int election_ticks = 10;
  // Extra flags for every node, e.g. {"--log-retain-entries", "100"}.
  std::vector<std::string> extra_flags;
  // > 0: each node's data dir lives on its own tmpfs of this size, so a
  // test can fill the disk (FillDisk). Needs root (mount); Start fails
  // clearly otherwise.
  uint64_t tmpfs_bytes = 0;
  // The first node id (ids are first_id .. first_id + nodes - 1), so
  // several groups of one test have distinct ids in logs.
  NodeId first_id = 1;
};

class ShardCluster {
 public:
  // Creates the TempDir, the proxies and starts nodes 1..N (bootstrapping
  // a group of N voters). Does not wait for a leader.
  static StatusOr<std::unique_ptr<ShardCluster>> Start(ClusterOptions options);

  ShardCluster(const ShardCluster&) = delete;
  ShardCluster& operator=(const ShardCluster&) = delete;
  // SIGTERMs every running node; removes the TempDir unless KeepFiles().
  ~ShardCluster();

  // Leaves data dirs and logs on disk; returns their directory.
  std::string KeepFiles();
  const std::string& dir() const { return dir_.path(); }

  // Every node ever started, and the real (client) address of one.
  std::vector<NodeId> ids() const;
  std::string address(NodeId id) const;
  // Real addresses of `ids` (all nodes when empty).
  std::vector<std::string> addresses(const std::vector<NodeId>& ids = {}) const;
  std::string log_path(NodeId id) const;
  bool IsRunning(NodeId id);

  // Process control.
  Status Kill(NodeId id);     // kill -9
  Status Stop(NodeId id);     // SIGTERM, clean stop
  Status Pause(NodeId id);    // SIGSTOP
  Status Resume(NodeId id);   // SIGCONT
  Status Restart(NodeId id);  // same flags, same data dir
  // Starts a new node with --join on a fresh data dir (no proxies); it
  // serves but is not a member until AddLearner. `id` must be new.
  Status StartJoining(NodeId id);

  // Fills the tmpfs under `id`'s data dir to the last byte (a filler
  // file); FreeDisk removes it. REQUIRES: tmpfs_bytes > 0.
  Status FillDisk(NodeId id);
  Status FreeDisk(NodeId id);
  // Removes a stopped node's data dir (replica replacement with a wiped
  // disk starts a new identity instead; this is for the old one).
  Status WipeData(NodeId id);

  // Blackholes every link from and to `id`, both directions.
  // REQUIRES: proxies.
  Status Partition(NodeId id);
  // Blackholes the links from `id` to every peer only (one-way).
  Status PartitionOutgoing(NodeId id);
  // Blackholes the links from every peer to `id` only (one-way): `id`
  // still sends, and hears from nobody.
  Status PartitionIncoming(NodeId id);
  // Lets every link pass again.
  void HealAll();

  // One Status RPC to a node (short timeout: paused nodes don't answer).
  StatusOr<v1::StatusResponse> NodeStatus(NodeId id);
  // Waits until one node among `voters` leads with a majority of them
  // (running or not) agreeing on it in the same term, and it is not in
  // `excluded`. Returns its id.
  StatusOr<NodeId> WaitForLeader(milliseconds timeout,
                                 const std::vector<NodeId>& voters,
                                 const std::set<NodeId>& excluded = {});
  // Waits until every node in `ids` answers Status with the same applied
  // index equal to its commit index, and the same leader, twice in a row
  // 200 ms apart (no entries in flight).
  Status WaitConverged(milliseconds timeout, const std::vector<NodeId>& ids);

  // Admin calls through the current leader (retrying, 10 s timeout).
  client::AdminClient& admin() { return *admin_; }

 private:
  struct Node {
    uint16_t port = 0;
    std::unique_ptr<Process> process;
    bool tmpfs_mounted = false;
  };
  Status MountTmpfs(NodeId id);
  // Blackholes every link (from, to) for which cut(from, to, id) holds.
  Status DropLinks(const std::string& what,
                   bool (*cut)(NodeId from, NodeId to, NodeId id), NodeId id);
  std::string node_dir(NodeId id) const;
  ShardCluster(ClusterOptions options, TempDir dir)
      : options_(std::move(options)), dir_(std::move(dir)) {}
  Status StartNode(NodeId id, std::vector<std::string> args);
  std::vector<std::string> CommonFlags(NodeId id) const;
  Node* Find(NodeId id);
  const Node* Find(NodeId id) const;

  const ClusterOptions options_;
  TempDir dir_;
  std::map<NodeId, Node> nodes_;
  // (from, to) -> proxy used by `from` to reach `to`.
  std::map<std::pair<NodeId, NodeId>, std::unique_ptr<FaultProxy>> proxies_;
  std::unique_ptr<client::AdminClient> status_client_;  // short timeout
  std::unique_ptr<client::AdminClient> admin_;
};

}  // namespace shardkv::test
