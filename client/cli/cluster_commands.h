// The commands that work through the controller of a sharded cluster
// (cluster_command_line.h parses them), and the sharded form of `status`.
// Each prints its result on stdout (progress on stderr) and returns the
// exit code (command_line.h). Blocking; run on the calling thread.
#pragma once

#include <memory>

#include "client/cli/cluster_command_line.h"
#include "client/cli/command_line.h"
#include "client/controller_client.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::cli {

struct ClusterConnection {
  // Null for an unsharded single shard (no controller).
  std::unique_ptr<client::ControllerClient> controller;
  v1::SlotMap map;
};

// Finds the controller from --endpoints (the controller or any node).
StatusOr<ClusterConnection> ConnectCluster(const GlobalOptions& global);
// Same, but an unsharded cluster is an error (kFailedPrecondition).
StatusOr<ClusterConnection> ConnectController(const GlobalOptions& global);

// REQUIRES: c.controller
void PrintClusterStatus(const GlobalOptions& global,
                        const ClusterConnection& c);

int RunRebalance(const GlobalOptions& global, const RebalanceCommand& command);
int RunShard(const GlobalOptions& global, const ShardCommand& command);
int RunSlotMove(const GlobalOptions& global, const SlotMoveCommand& command);
int RunMap(const GlobalOptions& global);

}  // namespace shardkv::cli
