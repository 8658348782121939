// The services a node hosts beside KV/Admin/Raft, by role: a shard serves
// ShardControl (the controller's migration steps); a controller replica
// serves Controller (the slot map) and runs the migration driver.
#pragma once

#include <vector>

#include "node/server/node_server.h"

namespace shardkv::cmd {

std::vector<server::NodeServiceFactory> RoleServices(
    const server::NodeConfig& config);

}  // namespace shardkv::cmd
