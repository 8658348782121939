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

grpc::Status NotLeader(uint64_t leader_id, const std::string& leader_address) {
  v1::ErrorDetail detail;
  detail.set_reason(v1::NOT_LEADER);
  detail.set_leader_id(leader_id);
  detail.set_leader_address(leader_address);
  std::string msg = "not the leader";
  if (!leader_address.empty()) {
    msg += "; leader is " + std::to_string(leader_id) + " at " + leader_address;
  } else {
    msg += "; no leader known (election in progress?)";
  }
  return ToGrpc(Unavailable(msg), detail);
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
