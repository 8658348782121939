#include "node/controller/controller_node.h"

#include "node/controller/controller_service.h"
#include "node/controller/map_store.h"
#include "node/controller/migration_driver.h"
#include "node/controller/watch_hub.h"

namespace shardkv::controller {
namespace {

class ControllerNode : public server::NodeService {
 public:
  explicit ControllerNode(server::Replica* replica)
      : store_(replica),
        hub_(&store_),
        service_(replica, &store_, &hub_),
        driver_(replica, &store_, replica->config().slot_count,
                replica->config().migration_copy_bytes_per_s) {
    hub_.Start();
    driver_.Start();
  }
  ~ControllerNode() override { Stop(); }

  grpc::Service* service() override { return &service_; }

  // The driver first: its workers may still be writing the map.
  void Stop() override {
    driver_.Stop();
    hub_.Stop();
  }

 private:
  SlotMapStore store_;
  WatchHub hub_;
  ControllerService service_;
  MigrationDriver driver_;
};

}  // namespace

std::unique_ptr<server::NodeService> MakeControllerNode(
    server::Replica* replica) {
  return std::make_unique<ControllerNode>(replica);
}

}  // namespace shardkv::controller
