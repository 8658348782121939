#include "node/cmd/role_services.h"

namespace shardkv::cmd {

std::vector<server::NodeServiceFactory> RoleServices(
    const server::NodeConfig& config) {
  std::vector<server::NodeServiceFactory> factories;
  switch (config.role) {
    case server::NodeRole::kShard:
      break;
    case server::NodeRole::kController:
      break;
  }
  return factories;
}

}  // namespace shardkv::cmd
