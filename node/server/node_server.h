// NodeServer: one shardkv-node process -- the Replica plus its gRPC server
// (KV, Admin and the peer RaftTransport on one port).
//
// Thread-safety: Start/Shutdown from the main thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "node/server/admin_service.h"
#include "node/server/kv_service.h"
#include "node/server/raft_service.h"
#include "node/server/replica.h"

namespace shardkv::server {

class NodeServer {
 public:
  explicit NodeServer(NodeConfig config);
  ~NodeServer();

  // Opens storage, starts Raft and serves; fails with a clear message if
  // the data dir cannot be opened or the address cannot be bound.
  Status Start();
  // Stops accepting requests, finishes those in flight (bounded), stops
  // Raft and closes storage.
  void Shutdown();

 private:
  NodeConfig config_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<KvService> kv_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<RaftService> raft_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace shardkv::server
