#include "node/cmd/role_services.h"

#include "node/controller/controller_node.h"
#include "node/server/shard_control_service.h"

namespace shardkv::cmd {

std::vector<server::NodeServiceFactory> RoleServices(
    const server::NodeConfig& config) {
  std::vector<server::NodeServiceFactory> factories;
  switch (config.role) {
    case server::NodeRole::kShard:
      factories.push_back(server::NewShardControlService);
      break;
    case server::NodeRole::kController:
      factories.push_back(controller::MakeControllerNode);
      break;
  }
  return factories;
}

}  // namespace shardkv::cmd
