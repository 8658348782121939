// AdminService: shardkv.v1.Admin -- status and membership of the group.
// Synchronous handlers: these calls are rare and wait for the change to be
// committed, so a blocked gRPC thread is acceptable here (not on KV).
#pragma once

#include "node/server/replica.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::server {

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(Replica* replica) : replica_(replica) {}

  grpc::Status Status(grpc::ServerContext* context,
                      const v1::StatusRequest* request,
                      v1::StatusResponse* response) override;
  grpc::Status AddLearner(grpc::ServerContext* context,
                          const v1::AddLearnerRequest* request,
                          v1::MembershipResponse* response) override;
  grpc::Status Promote(grpc::ServerContext* context,
                       const v1::PromoteRequest* request,
                       v1::MembershipResponse* response) override;
  grpc::Status RemoveMember(grpc::ServerContext* context,
                            const v1::RemoveMemberRequest* request,
                            v1::MembershipResponse* response) override;
  grpc::Status TransferLeader(grpc::ServerContext* context,
                              const v1::TransferLeaderRequest* request,
                              v1::TransferLeaderResponse* response) override;

 private:
  grpc::Status Change(grpc::ServerContext* context, raft::ConfChange change,
                      v1::MembershipResponse* response);

  Replica* const replica_;
};

}  // namespace shardkv::server
