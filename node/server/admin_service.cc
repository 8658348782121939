#include "node/server/admin_service.h"

#include <future>

#include "node/server/errors.h"

namespace shardkv::server {
namespace {

// Waits for an admin callback, bounded by the client's deadline.
grpc::Status Await(grpc::ServerContext* context,
                   std::future<shardkv::Status> future) {
  auto deadline = context->deadline();
  auto limit = std::chrono::system_clock::now() + std::chrono::seconds(30);
  if (deadline > limit) deadline = limit;
  if (future.wait_until(deadline) != std::future_status::ready) {
    return ToGrpc(shardkv::Status(
        Code::kDeadlineExceeded,
        "the change was proposed but not applied in time; check `shardkv "
        "status` before retrying"));
  }
  return ToGrpc(future.get());
}

}  // namespace

grpc::Status AdminService::Status(grpc::ServerContext*,
                                  const v1::StatusRequest*,
                                  v1::StatusResponse* response) {
  *response = replica_->GetStatus();
  return grpc::Status::OK;
}

grpc::Status AdminService::Change(grpc::ServerContext* context,
                                  raft::ConfChange change,
                                  v1::MembershipResponse* response) {
  if (!replica_->IsLeader()) {
    LeaderHint hint = replica_->Leader();
    return NotLeader(hint.id, hint.address);
  }
  auto promise = std::make_shared<std::promise<shardkv::Status>>();
  replica_->ChangeMembership(
      change, [promise](const shardkv::Status& s) { promise->set_value(s); });
  grpc::Status status = Await(context, promise->get_future());
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      LeaderHint hint = replica_->Leader();
      return NotLeader(hint.id, hint.address);
    }
    return status;
  }
  v1::StatusResponse status_now = replica_->GetStatus();
  *response->mutable_members() = status_now.members();
  return grpc::Status::OK;
}

grpc::Status AdminService::AddLearner(grpc::ServerContext* context,
                                      const v1::AddLearnerRequest* request,
                                      v1::MembershipResponse* response) {
  if (request->id() == 0 || request->address().empty()) {
    return ToGrpc(
        InvalidArgument("add learner needs an id >= 1 and an "
                        "address"));
  }
  return Change(context,
                raft::ConfChange{raft::ConfChangeType::kAddLearner,
                                 request->id(), request->address()},
                response);
}

grpc::Status AdminService::Promote(grpc::ServerContext* context,
                                   const v1::PromoteRequest* request,
                                   v1::MembershipResponse* response) {
  return Change(
      context,
      raft::ConfChange{raft::ConfChangeType::kPromote, request->id(), ""},
      response);
}

grpc::Status AdminService::RemoveMember(grpc::ServerContext* context,
                                        const v1::RemoveMemberRequest* request,
                                        v1::MembershipResponse* response) {
  return Change(
      context,
      raft::ConfChange{raft::ConfChangeType::kRemove, request->id(), ""},
      response);
}

grpc::Status AdminService::TransferLeader(
    grpc::ServerContext* context, const v1::TransferLeaderRequest* request,
    v1::TransferLeaderResponse* response) {
  if (!replica_->IsLeader()) {
    LeaderHint hint = replica_->Leader();
    return NotLeader(hint.id, hint.address);
  }
  auto promise = std::make_shared<std::promise<shardkv::Status>>();
  replica_->TransferLeadership(
      request->id(),
      [promise](const shardkv::Status& s) { promise->set_value(s); });
  grpc::Status status = Await(context, promise->get_future());
  response->set_leader_id(replica_->Leader().id);
  return status;
}

}  // namespace shardkv::server
