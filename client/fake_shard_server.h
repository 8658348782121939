// Test double: an in-process gRPC server on 127.0.0.1:<ephemeral> that
// implements shardkv.v1 KV and Admin with scripted answers, and records
// every request it receives. Used by the client tests only.
//
// Thread-safe: scripts and records are guarded by one mutex; handlers run
// on gRPC's threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::client::testing {

// One RPC's script: queued handlers answer in order; when the queue is
// empty the fallback answers (by default UNIMPLEMENTED).
template <typename Req, typename Resp>
class Script {
 public:
  using Handler = std::function<grpc::Status(const Req&, Resp*)>;

  void Push(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(h));
  }
  void SetFallback(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    fallback_ = std::move(h);
  }
  std::vector<Req> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  grpc::Status Answer(const Req& request, Resp* response) {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      if (!queue_.empty()) {
        h = std::move(queue_.front());
        queue_.pop_front();
      } else {
        h = fallback_;
      }
    }
    if (!h) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no script");
    return h(request, response);
  }

 private:
  mutable std::mutex mu_;
  std::deque<Handler> queue_;
  Handler fallback_;
  std::vector<Req> requests_;
};

class FakeShardServer {
 public:
  FakeShardServer();
  ~FakeShardServer();

  const std::string& address() const { return address_; }
  // Stops serving: later calls fail with UNAVAILABLE (unreachable).
  void Shutdown();

  Script<v1::GetRequest, v1::GetResponse> get;
  Script<v1::SetRequest, v1::SetResponse> set;
  Script<v1::DeleteRequest, v1::DeleteResponse> del;
  Script<v1::BatchRequest, v1::BatchResponse> batch;
  Script<v1::StatusRequest, v1::StatusResponse> status;
  Script<v1::AddLearnerRequest, v1::MembershipResponse> add_learner;
  Script<v1::PromoteRequest, v1::MembershipResponse> promote;
  Script<v1::RemoveMemberRequest, v1::MembershipResponse> remove_member;
  Script<v1::TransferLeaderRequest, v1::TransferLeaderResponse> transfer_leader;

 private:
  class KvService;
  class AdminService;
  std::unique_ptr<KvService> kv_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// Statuses as a shardkv server builds them (ErrorDetail in the details).
grpc::Status NotLeader(uint64_t leader_id, const std::string& leader_address);
grpc::Status Failure(grpc::StatusCode code, const std::string& message,
                     v1::ErrorReason reason, uint64_t current_version = 0);

}  // namespace shardkv::client::testing
