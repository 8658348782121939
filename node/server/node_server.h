// NodeServer: one shardkv-node process -- the Replica plus its gRPC server
// (KV, Admin, the peer RaftTransport and the role's services on one port).
//
// Thread-safety: Start/Shutdown from the main thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "node/server/admin_service.h"
#include "node/server/kv_service.h"
#include "node/server/raft_service.h"
#include "node/server/replica.h"

namespace shardkv::server {

// A service hosted beside KV/Admin/Raft by a role (the controller's
// Controller service, a shard's ShardControl): created once the replica
// runs, and stopped before the gRPC server and the replica are.
class NodeService {
 public:
  virtual ~NodeService() = default;
  virtual grpc::Service* service() = 0;
  // Stops background work (threads, streams); called once.
  virtual void Stop() {}
};
using NodeServiceFactory =
    std::function<std::unique_ptr<NodeService>(Replica*)>;

class NodeServer {
 public:
  // KV is served only by role kShard; `extra` adds role services.
  explicit NodeServer(NodeConfig config,
                      std::vector<NodeServiceFactory> extra = {});
  ~NodeServer();

  // Opens storage, starts Raft and serves; fails with a clear message if
  // the data dir cannot be opened or the address cannot be bound.
  Status Start();
  // Stops accepting requests, finishes those in flight (bounded), stops
  // Raft and closes storage.
  void Shutdown();

  // The gRPC health service (grpc.health.v1, used by Kubernetes readiness
  // probes) answers SERVING once this replica is ready: in a group with a
  // leader and caught up (StatusResponse.ready); re-checked every 500 ms.

 private:
  NodeConfig config_;
  std::vector<NodeServiceFactory> factories_;
  std::vector<std::unique_ptr<NodeService>> extra_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<KvService> kv_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<RaftService> raft_;
  std::unique_ptr<grpc::Server> server_;
  void HealthLoop();
  std::mutex health_mu_;
  std::condition_variable health_cv_;
  bool health_stop_ = false;   // GUARDED_BY(health_mu_)
  std::thread health_thread_;  // "health"
};

}  // namespace shardkv::server
