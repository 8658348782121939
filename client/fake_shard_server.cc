#include "client/fake_shard_server.h"

namespace shardkv::client::testing {

class FakeShardServer::KvService final : public v1::KV::Service {
 public:
  explicit KvService(FakeShardServer* s) : s_(s) {}
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* req,
                   v1::GetResponse* resp) override {
    return s_->get.Answer(*req, resp);
  }
  grpc::Status Set(grpc::ServerContext*, const v1::SetRequest* req,
                   v1::SetResponse* resp) override {
    return s_->set.Answer(*req, resp);
  }
  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest* req,
                      v1::DeleteResponse* resp) override {
    return s_->del.Answer(*req, resp);
  }
  grpc::Status Batch(grpc::ServerContext*, const v1::BatchRequest* req,
                     v1::BatchResponse* resp) override {
    return s_->batch.Answer(*req, resp);
  }

 private:
  FakeShardServer* s_;
};

class FakeShardServer::AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(FakeShardServer* s) : s_(s) {}
  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest* req,
                      v1::StatusResponse* resp) override {
    return s_->status.Answer(*req, resp);
  }
  grpc::Status AddLearner(grpc::ServerContext*,
                          const v1::AddLearnerRequest* req,
                          v1::MembershipResponse* resp) override {
    return s_->add_learner.Answer(*req, resp);
  }
  grpc::Status Promote(grpc::ServerContext*, const v1::PromoteRequest* req,
                       v1::MembershipResponse* resp) override {
    return s_->promote.Answer(*req, resp);
  }
  grpc::Status RemoveMember(grpc::ServerContext*,
                            const v1::RemoveMemberRequest* req,
                            v1::MembershipResponse* resp) override {
    return s_->remove_member.Answer(*req, resp);
  }
  grpc::Status TransferLeader(grpc::ServerContext*,
                              const v1::TransferLeaderRequest* req,
                              v1::TransferLeaderResponse* resp) override {
    return s_->transfer_leader.Answer(*req, resp);
  }

 private:
  FakeShardServer* s_;
};

FakeShardServer::FakeShardServer()
    : kv_service_(std::make_unique<KvService>(this)),
      admin_service_(std::make_unique<AdminService>(this)) {
  grpc::ServerBuilder builder;
  int port = 0;
  // Without SO_REUSEPORT, port 0 never hands out a port another process's
  // reuse-port listener holds (parallel tests got each other's fakes).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(kv_service_.get());
  builder.RegisterService(admin_service_.get());
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeShardServer::~FakeShardServer() { Shutdown(); }

void FakeShardServer::Shutdown() {
  if (server_) {
    server_->Shutdown();
    server_->Wait();
    server_.reset();
  }
}

grpc::Status NotLeader(uint64_t leader_id, const std::string& leader_address) {
  v1::ErrorDetail d;
  d.set_reason(v1::NOT_LEADER);
  d.set_leader_id(leader_id);
  d.set_leader_address(leader_address);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader",
                      d.SerializeAsString());
}

grpc::Status Failure(grpc::StatusCode code, const std::string& message,
                     v1::ErrorReason reason, uint64_t current_version) {
  v1::ErrorDetail d;
  d.set_reason(reason);
  d.set_current_version(current_version);
  return grpc::Status(code, message, d.SerializeAsString());
}

}  // namespace shardkv::client::testing
