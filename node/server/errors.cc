#include "node/server/errors.h"

namespace shardkv::server {

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  v1::ErrorDetail detail;
  return ToGrpc(status, detail);
}

grpc::Status ToGrpc(const Status& status, const v1::ErrorDetail& detail) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      status.message(), detail.SerializeAsString());
}

std::string NotLeaderMessage(uint64_t leader_id,
                             const std::string& leader_address) {
  if (leader_id == 0)
    return "not the leader; no leader known (election in progress?)";
  return "not the leader; leader is " + std::to_string(leader_id) + " at " +
         leader_address;
}

grpc::Status NotLeader(uint64_t leader_id, const std::string& leader_address) {
  v1::ErrorDetail detail;
  detail.set_reason(v1::NOT_LEADER);
  detail.set_leader_id(leader_id);
  detail.set_leader_address(leader_address);
  return ToGrpc(Unavailable(NotLeaderMessage(leader_id, leader_address)),
                detail);
}

grpc::Status InvalidArgumentWithLimit(v1::ErrorReason reason,
                                      const std::string& message,
                                      uint64_t limit, uint64_t actual) {
  v1::ErrorDetail detail;
  detail.set_reason(reason);
  detail.set_limit(limit);
  detail.set_actual(actual);
  return ToGrpc(InvalidArgument(message), detail);
}

}  // namespace shardkv::server
