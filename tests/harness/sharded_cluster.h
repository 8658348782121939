// ShardedCluster: a whole sharded shardkv cluster of real processes on
// loopback -- a controller group and several shards, each a ShardCluster
// (so each group can have a FaultProxy on every peer link, tmpfs data dirs,
// kill/pause/partition per node).
//
// Node ids are unique across the cluster: the controller group uses
// 1..controllers, shard k uses 100*k + 1 .. 100*k + replicas (and new
// identities of shard k 100*k + 50 and up), so a log line names its group.
//
// Thread-safety: not thread-safe; driven by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shardkv/v1/controller.grpc.pb.h"
#include "tests/harness/shard_cluster.h"

namespace shardkv::test {

struct ShardedClusterOptions {
  std::string name = "sharded";
  int controllers = 1;
  int shards = 2;
  int replicas = 3;
  uint32_t slot_count = 64;
  bool proxies = false;
  uint64_t tmpfs_bytes = 0;  // per shard replica; 0 = plain dirs
  std::string tick = "20ms";
  int election_ticks = 10;
  std::vector<std::string> extra_flags;  // for every node
};

class ShardedCluster {
 public:
  // Starts the controller group and the shards, joins every shard and
  // rebalances (the first rebalance assigns every slot), and waits until
  // every slot is owned and no migration is in flight.
  static StatusOr<std::unique_ptr<ShardedCluster>> Start(
      ShardedClusterOptions options, milliseconds timeout);
  ~ShardedCluster();

  // Keeps every group's files; returns the directories.
  std::vector<std::string> KeepFiles();

  ShardCluster& controller() { return *controller_; }
  std::vector<std::string> controller_addresses() const;
  // Shards by id (1, 2, ...).
  std::vector<uint32_t> shard_ids() const;
  ShardCluster& shard(uint32_t id) { return *shards_.at(id); }
  bool has_shard(uint32_t id) const { return shards_.contains(id); }
  // The endpoints a client is given: the controller group.
  std::vector<std::string> endpoints() const { return controller_addresses(); }
  // Logs of every node ever started.
  std::vector<std::string> log_paths() const;

  // Controller calls, at the controller leader (follows NOT_LEADER; retries
  // on UNAVAILABLE within `timeout`).
  StatusOr<v1::SlotMap> GetMap(milliseconds timeout = milliseconds(5000));
  StatusOr<v1::SlotMap> JoinShard(uint32_t id);
  Status Rebalance();
  StatusOr<v1::Migration> MoveSlot(uint32_t slot, uint32_t to_shard);
  Status DrainShard(uint32_t id);
  Status RemoveShard(uint32_t id);
  // Waits until every slot has an owner, no migration is in flight, no
  // direct assignment is unconfirmed and rebalancing is off, in the map of
  // the controller leader (a follower may lag behind what was acknowledged)
  // and at least as new as every map a mutation here returned.
  StatusOr<v1::SlotMap> WaitSettled(milliseconds timeout);

  // Starts a new shard's replicas (not joined).
  Status StartShard(uint32_t id);
  // SIGTERMs a shard's replicas (after RemoveShard); its files stay.
  void StopShard(uint32_t id);

 private:
  explicit ShardedCluster(ShardedClusterOptions options)
      : options_(std::move(options)) {}
  ClusterOptions ShardOptions(uint32_t id) const;
  // The map as the controller leader has applied it.
  StatusOr<v1::SlotMap> LeaderMap();
  // Runs `call` against each controller address until one is not
  // NOT_LEADER / unreachable, retrying until `timeout`.
  template <typename Call>
  grpc::Status AtLeader(milliseconds timeout, const Call& call);

  const ShardedClusterOptions options_;
  std::unique_ptr<ShardCluster> controller_;
  std::map<uint32_t, std::unique_ptr<ShardCluster>> shards_;
  // Removed shards: stopped, files kept until the cluster goes.
  std::vector<std::unique_ptr<ShardCluster>> retired_;
  uint64_t min_epoch_ = 0;  // newest epoch a mutation returned
  std::map<std::string, std::unique_ptr<v1::Controller::Stub>> stubs_;
};

}  // namespace shardkv::test
