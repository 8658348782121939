#include "node/server/kv_service.h"

#include <chrono>

#include "common/clock.h"
#include "node/server/errors.h"

namespace shardkv::server {
namespace {

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// A request refused by the slot check: WRONG_SHARD (FAILED_PRECONDITION,
// with the shard's epoch) or SLOT_MIGRATING (UNAVAILABLE).
grpc::Status SlotStatus(const storage::SlotRejection& rejection) {
  v1::ErrorDetail detail;
  if (rejection.reason == storage::Rejection::kWrongShard) {
    detail.set_reason(v1::WRONG_SHARD);
    detail.set_epoch(rejection.epoch);
  } else {
    detail.set_reason(v1::SLOT_MIGRATING);
  }
  return ToGrpc(rejection.ToStatus(), detail);
}

void FillCommand(const v1::RequestId& id, internal::Command* command) {
  command->set_client_id(id.client_id());
  command->set_sequence(id.sequence());
}

}  // namespace

grpc::Status KvService::ValidateKey(const std::string& key) const {
  if (key.empty()) {
    return InvalidArgumentWithLimit(
        v1::KEY_EMPTY,
        "key is empty (1-" + std::to_string(replica_->config().max_key_bytes) +
            " bytes)",
        replica_->config().max_key_bytes, 0);
  }
  uint64_t limit = replica_->config().max_key_bytes;
  if (key.size() > limit) {
    return InvalidArgumentWithLimit(v1::KEY_TOO_LARGE,
                                    "key is " + std::to_string(key.size()) +
                                        " bytes; the limit is " +
                                        std::to_string(limit),
                                    limit, key.size());
  }
  return grpc::Status::OK;
}

grpc::Status KvService::NotLeader() const {
  LeaderHint hint = replica_->Leader();
  return server::NotLeader(hint.id, hint.address);
}

grpc::Status KvService::CheckLeaderAndSlot(const std::string& key) const {
  if (!replica_->IsLeader()) return NotLeader();
  if (auto r = replica_->state_machine().CheckKey(key); r.rejected()) {
    return SlotStatus(r);
  }
  return grpc::Status::OK;
}

// A failed condition carries the key's current version.
grpc::Status KvService::WriteStatus(const Status& status,
                                    const storage::ApplyResult& result) const {
  if (status.ok()) return grpc::Status::OK;
  if (result.rejection.rejected()) return SlotStatus(result.rejection);
  v1::ErrorDetail detail;
  if (status.code() == Code::kFailedPrecondition) {
    detail.set_reason(v1::CONDITION_FAILED);
    detail.set_current_version(result.current_version);
  } else if (status.code() == Code::kUnavailable) {
    LeaderHint leader = replica_->Leader();
    detail.set_reason(v1::NOT_LEADER);
    detail.set_leader_id(leader.id);
    detail.set_leader_address(leader.address);
  } else if (status.code() == Code::kResourceExhausted) {
    detail.set_reason(v1::TOO_MANY_REQUESTS);
  }
  return ToGrpc(status, detail);
}

grpc::Status KvService::CheckGet(const v1::GetRequest& request) const {
  if (grpc::Status s = ValidateKey(request.key()); !s.ok()) return s;
  if (request.consistency() == v1::CONSISTENCY_STALE) return grpc::Status::OK;
  // Fail fast; the answer that counts is the check made with the read,
  // after the ReadIndex (a freeze may be applied in between).
  return CheckLeaderAndSlot(request.key());
}

grpc::Status KvService::ReadNow(const v1::GetRequest& request,
                                v1::GetResponse* response) const {
  int64_t now = WallClockMs();
  auto r = replica_->state_machine().Get(request.key(), now);
  if (!r.ok()) return ToGrpc(r.status());
  if (r->rejection.rejected()) return SlotStatus(r->rejection);
  response->set_found(r->found);
  if (!r->found) return grpc::Status::OK;
  response->set_value(std::move(r->value));
  response->set_version(r->version);
  if (r->expire_at_ms != 0) {
    response->set_ttl_ms(std::max<int64_t>(1, r->expire_at_ms - now));
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         const v1::GetRequest* request,
                                         v1::GetResponse* response) {
  if (grpc::Status s = CheckGet(*request); !s.ok()) {
    return Finished(context, s);
  }
  if (request->consistency() == v1::CONSISTENCY_STALE) {
    return Finished(context, ReadNow(*request, response));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  replica_->WaitReadable([this, reactor, request, response](const Status& s) {
    if (!s.ok()) {
      reactor->Finish(s.code() == Code::kUnavailable ? NotLeader() : ToGrpc(s));
      return;
    }
    reactor->Finish(ReadNow(*request, response));
  });
  return reactor;
}

grpc::Status KvService::PrepareSet(const v1::SetRequest& request,
                                   internal::Command* command) const {
  if (grpc::Status s = ValidateKey(request.key()); !s.ok()) return s;
  uint64_t limit = replica_->config().max_value_bytes;
  if (request.value().size() > limit) {
    return InvalidArgumentWithLimit(
        v1::VALUE_TOO_LARGE,
        "value is " + std::to_string(request.value().size()) +
            " bytes; the limit is " + std::to_string(limit),
        limit, request.value().size());
  }
  if (request.ttl_ms() < 0) {
    return InvalidArgumentWithLimit(v1::INVALID_REQUEST,
                                    "ttl_ms must not be negative", 0, 0);
  }
  if (request.condition_case() == v1::SetRequest::kIfVersion &&
      request.if_version() == 0) {
    return InvalidArgumentWithLimit(
        v1::INVALID_REQUEST,
        "if_version must be >= 1 (use if_absent for a key that must not "
        "exist)",
        0, 0);
  }
  // Fail fast; the check that counts is made again when the write is
  // applied (ownership may change while it is in the log).
  if (grpc::Status s = CheckLeaderAndSlot(request.key()); !s.ok()) return s;
  FillCommand(request.request_id(), command);
  internal::SetCommand* set = command->mutable_set();
  set->set_key(request.key());
  set->set_value(request.value());
  if (request.ttl_ms() > 0) {
    set->set_expire_at_ms(WallClockMs() + request.ttl_ms());
  }
  if (request.condition_case() == v1::SetRequest::kIfAbsent) {
    set->set_if_absent(request.if_absent());
  } else if (request.condition_case() == v1::SetRequest::kIfVersion) {
    set->set_if_version(request.if_version());
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* KvService::Set(grpc::CallbackServerContext* context,
                                         const v1::SetRequest* request,
                                         v1::SetResponse* response) {
  internal::Command command;
  if (grpc::Status s = PrepareSet(*request, &command); !s.ok()) {
    return Finished(context, s);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  replica_->Propose(std::move(command),
                    [this, reactor, response](const Status& s,
                                              const storage::ApplyResult& r) {
                      if (s.ok()) response->set_version(r.version);
                      reactor->Finish(WriteStatus(s, r));
                    });
  return reactor;
}

grpc::Status KvService::PrepareDelete(const v1::DeleteRequest& request,
                                      internal::Command* command) const {
  if (grpc::Status s = ValidateKey(request.key()); !s.ok()) return s;
  if (request.condition_case() == v1::DeleteRequest::kIfVersion &&
      request.if_version() == 0) {
    return InvalidArgumentWithLimit(v1::INVALID_REQUEST,
                                    "if_version must be >= 1", 0, 0);
  }
  // Fail fast; the check that counts is made again when the write is
  // applied (ownership may change while it is in the log).
  if (grpc::Status s = CheckLeaderAndSlot(request.key()); !s.ok()) return s;
  FillCommand(request.request_id(), command);
  internal::DeleteCommand* del = command->mutable_del();
  del->set_key(request.key());
  if (request.condition_case() == v1::DeleteRequest::kIfVersion) {
    del->set_if_version(request.if_version());
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* KvService::Delete(
    grpc::CallbackServerContext* context, const v1::DeleteRequest* request,
    v1::DeleteResponse* response) {
  internal::Command command;
  if (grpc::Status s = PrepareDelete(*request, &command); !s.ok()) {
    return Finished(context, s);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  replica_->Propose(std::move(command),
                    [this, reactor, response](const Status& s,
                                              const storage::ApplyResult& r) {
                      if (s.ok()) response->set_deleted(r.deleted);
                      reactor->Finish(WriteStatus(s, r));
                    });
  return reactor;
}

}  // namespace shardkv::server
