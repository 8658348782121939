#include "client/fake_controller_server.h"

#include <chrono>

namespace shardkv::client::testing {

class FakeControllerServer::Service final : public v1::Controller::Service {
 public:
  explicit Service(FakeControllerServer* s) : s_(s) {}

  grpc::Status GetMap(grpc::ServerContext*, const v1::GetMapRequest* req,
                      v1::SlotMap* resp) override {
    return s_->get_map.Answer(*req, resp);
  }
  grpc::Status JoinShard(grpc::ServerContext*, const v1::JoinShardRequest* req,
                         v1::SlotMap* resp) override {
    return s_->join_shard.Answer(*req, resp);
  }
  grpc::Status DrainShard(grpc::ServerContext*,
                          const v1::DrainShardRequest* req,
                          v1::SlotMap* resp) override {
    return s_->drain_shard.Answer(*req, resp);
  }
  grpc::Status CancelDrain(grpc::ServerContext*,
                           const v1::CancelDrainRequest* req,
                           v1::SlotMap* resp) override {
    return s_->cancel_drain.Answer(*req, resp);
  }
  grpc::Status RemoveShard(grpc::ServerContext*,
                           const v1::RemoveShardRequest* req,
                           v1::SlotMap* resp) override {
    return s_->remove_shard.Answer(*req, resp);
  }
  grpc::Status MoveSlot(grpc::ServerContext*, const v1::MoveSlotRequest* req,
                        v1::MoveSlotResponse* resp) override {
    return s_->move_slot.Answer(*req, resp);
  }
  grpc::Status Rebalance(grpc::ServerContext*, const v1::RebalanceRequest* req,
                         v1::RebalanceResponse* resp) override {
    return s_->rebalance.Answer(*req, resp);
  }

  grpc::Status WatchMap(grpc::ServerContext* context,
                        const v1::WatchMapRequest*,
                        grpc::ServerWriter<v1::SlotMap>* writer) override {
    size_t sent = 0;
    std::unique_lock<std::mutex> lock(s_->mu_);
    ++s_->watch_calls_;
    while (!s_->shutting_down_ && !context->IsCancelled()) {
      while (sent < s_->published_.size()) {
        v1::SlotMap map = s_->published_[sent++];
        lock.unlock();
        bool ok = writer->Write(map);
        lock.lock();
        if (!ok) return grpc::Status::CANCELLED;
      }
      s_->published_cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  }

 private:
  FakeControllerServer* s_;
};

FakeControllerServer::FakeControllerServer()
    : service_(std::make_unique<Service>(this)) {
  grpc::ServerBuilder builder;
  int port = 0;
  // No SO_REUSEPORT: see FakeShardServer.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeControllerServer::~FakeControllerServer() { Shutdown(); }

void FakeControllerServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  published_cv_.notify_all();
  if (server_) {
    server_->Shutdown();
    server_->Wait();
    server_.reset();
  }
}

void FakeControllerServer::Publish(const v1::SlotMap& map) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    published_.push_back(map);
  }
  published_cv_.notify_all();
}

int FakeControllerServer::watch_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watch_calls_;
}

v1::SlotMap MakeSlotMap(
    uint64_t epoch, uint32_t slot_count, const std::vector<uint32_t>& owners,
    const std::vector<std::vector<std::string>>& addresses) {
  v1::SlotMap map;
  map.set_epoch(epoch);
  map.set_slot_count(slot_count);
  for (uint32_t s = 0; s < slot_count; ++s) {
    map.add_slot_owner(owners.empty() ? 0
                                      : owners[s * owners.size() / slot_count]);
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    v1::Shard* shard = map.add_shards();
    shard->set_id(static_cast<uint32_t>(i + 1));
    shard->set_state(v1::SHARD_ACTIVE);
    for (size_t j = 0; j < addresses[i].size(); ++j) {
      v1::Member* m = shard->add_members();
      m->set_id(j + 1);
      m->set_address(addresses[i][j]);
    }
  }
  return map;
}

}  // namespace shardkv::client::testing
