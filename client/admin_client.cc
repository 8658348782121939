#include "client/admin_client.h"

#include <utility>

#include "client/error_detail.h"

namespace shardkv::client {

StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(
    AdminOptions options) {
  if (options.endpoints.empty()) {
    return InvalidArgument("no endpoints given (host:port,...)");
  }
  return std::unique_ptr<AdminClient>(new AdminClient(std::move(options)));
}

AdminClient::AdminClient(AdminOptions options)
    : options_(std::move(options)), endpoints_(options_.endpoints) {}

StatusOr<v1::StatusResponse> AdminClient::Status(const std::string& endpoint) {
  Endpoint& e = endpoints_.at(endpoints_.IndexOf(endpoint));
  grpc::ClientContext context;
  SetDeadline(&context, Clock::now() + options_.timeout);
  v1::StatusResponse response;
  grpc::Status s = e.admin->Status(&context, v1::StatusRequest(), &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

shardkv::Status AdminClient::OnLeader(const Attempt& attempt) {
  return CallWithRetry(endpoints_, Route::kLeader, 0, options_.retry,
                       Clock::now() + options_.timeout, attempt)
      .status;
}

StatusOr<v1::MembershipResponse> AdminClient::AddLearner(
    uint64_t id, const std::string& address) {
  v1::AddLearnerRequest request;
  request.set_id(id);
  request.set_address(address);
  v1::MembershipResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.admin->AddLearner(c, request, &response);
  }));
  return response;
}

StatusOr<v1::MembershipResponse> AdminClient::Promote(uint64_t id) {
  v1::PromoteRequest request;
  request.set_id(id);
  v1::MembershipResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.admin->Promote(c, request, &response);
  }));
  return response;
}

StatusOr<v1::MembershipResponse> AdminClient::RemoveMember(uint64_t id) {
  v1::RemoveMemberRequest request;
  request.set_id(id);
  v1::MembershipResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.admin->RemoveMember(c, request, &response);
  }));
  return response;
}

StatusOr<v1::TransferLeaderResponse> AdminClient::TransferLeader(uint64_t id) {
  v1::TransferLeaderRequest request;
  request.set_id(id);
  v1::TransferLeaderResponse response;
  SHARDKV_RETURN_IF_ERROR(OnLeader([&](Endpoint& e, grpc::ClientContext* c) {
    return e.admin->TransferLeader(c, request, &response);
  }));
  return response;
}

}  // namespace shardkv::client
