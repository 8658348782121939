#include "node/server/node_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>

#include "common/log.h"

namespace shardkv::server {

NodeServer::NodeServer(NodeConfig config, std::vector<NodeServiceFactory> extra)
    : config_(std::move(config)), factories_(std::move(extra)) {}

NodeServer::~NodeServer() { Shutdown(); }

Status NodeServer::Start() {
  replica_ = std::make_unique<Replica>(config_);
  SHARDKV_RETURN_IF_ERROR(replica_->Start());
  kv_ = std::make_unique<KvService>(replica_.get());
  admin_ = std::make_unique<AdminService>(replica_.get());
  raft_ = std::make_unique<RaftService>(replica_.get());
  for (const NodeServiceFactory& factory : factories_) {
    extra_.push_back(factory(replica_.get()));
  }

  // Requests are bounded explicitly: the largest legal Set is a value at
  // the limit plus a key and framing; peer messages carry batches of
  // entries (an append holds about 1 MiB, an entry at most 4 MiB plus one
  // command). Anything larger is refused by gRPC with RESOURCE_EXHAUSTED.
  int max_message = static_cast<int>(
      std::max<uint64_t>(16u << 20, 2 * config_.max_value_bytes + (1u << 20)));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(),
                           &bound_port);
  // No SO_REUSEPORT (gRPC sets it by default on Linux): a second process
  // on this port must fail to start, not silently take half the
  // connections (seen as peers of one test answering another's nodes).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  if (config_.role == NodeRole::kShard) builder.RegisterService(kv_.get());
  for (auto& extra : extra_) builder.RegisterService(extra->service());
  builder.RegisterService(admin_.get());
  builder.RegisterService(raft_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound_port == 0) {
    for (auto& extra : extra_) extra->Stop();
    replica_->Stop();
    return Unavailable("cannot listen on " + config_.listen +
                       " (address in use or not local?)");
  }
  server_->GetHealthCheckService()->SetServingStatus(false);
  health_thread_ = std::thread([this] { HealthLoop(); });
  SHARDKV_LOG(kInfo) << "serving on " << config_.listen << " (data dir "
                     << config_.data_dir << ")";
  return Status::Ok();
}

void NodeServer::HealthLoop() {
  pthread_setname_np(pthread_self(), "health");
  bool serving = false;
  std::unique_lock<std::mutex> lock(health_mu_);
  while (!health_stop_) {
    bool ready = replica_->GetStatus().ready();
    if (ready != serving) {
      server_->GetHealthCheckService()->SetServingStatus(ready);
      serving = ready;
    }
    health_cv_.wait_for(lock, std::chrono::milliseconds(500));
  }
}

void NodeServer::Shutdown() {
  if (health_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      health_stop_ = true;
    }
    health_cv_.notify_all();
    health_thread_.join();
  }
  for (auto& extra : extra_) extra->Stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  }
  if (replica_) replica_->Stop();
  server_.reset();
  extra_.clear();
}

}  // namespace shardkv::server
