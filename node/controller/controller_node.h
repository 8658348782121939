// The controller role's NodeService: the slot map store, the Controller
// service, the WatchMap hub and the migration driver of one controller
// replica (docs/sharding.md). Hosted by NodeServer for --role controller.
//
// Thread-safety: created and stopped by NodeServer's thread.
#pragma once

#include <memory>

#include "node/server/node_server.h"

namespace shardkv::controller {

// Creates the service for `replica` and starts its threads (ctl-watch,
// ctl-driver; ctl-mig-N while this replica leads).
std::unique_ptr<server::NodeService> MakeControllerNode(
    server::Replica* replica);

}  // namespace shardkv::controller
