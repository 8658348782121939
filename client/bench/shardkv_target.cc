#include "client/bench/shardkv_target.h"

#include <random>

#include "client/error_detail.h"
#include "client/retrying_call.h"

namespace shardkv::bench {
namespace {

constexpr int kMaxRetries = 4;

}  // namespace

struct ShardkvTarget::Call {
  OpType type;
  int client;
  int retries = 0;
  size_t endpoint = 0;
  Done done;
  std::unique_ptr<grpc::ClientContext> context;
  v1::GetRequest get_request;
  v1::GetResponse get_response;
  v1::SetRequest set_request;
  v1::SetResponse set_response;
};

ShardkvTarget::ShardkvTarget(const ShardkvTargetOptions& options)
    : options_(options),
      endpoints_(options.endpoints),
      sessions_(static_cast<size_t>(options.clients)) {
  client::SessionPool ids;  // a source of random non-zero client ids
  for (client::Session& s : sessions_) s = ids.Acquire();
  if (options_.batch_in_flight > 0) {
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      batchers_.push_back(std::make_unique<KvBatcher>(
          endpoints_.at(i).kv.get(), options_.batch_in_flight,
          options_.batch_max_items, options_.timeout));
    }
  }
}

ShardkvTarget::~ShardkvTarget() = default;

Status ShardkvTarget::FindLeader() {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    client::Endpoint& e = endpoints_.at(i);
    grpc::ClientContext context;
    client::SetDeadline(&context, client::Clock::now() + options_.timeout);
    v1::StatusResponse s;
    if (!e.admin->Status(&context, v1::StatusRequest(), &s).ok()) continue;
    if (s.role() == v1::ROLE_LEADER) {
      endpoints_.set_leader(i);
      return Status::Ok();
    }
    if (!s.leader_address().empty()) {
      endpoints_.set_leader(endpoints_.IndexOf(s.leader_address()));
      return Status::Ok();
    }
  }
  return Unavailable("no replica knows a leader");
}

void ShardkvTarget::Start(int client, OpType type, const std::string& key,
                          const std::string& value, Done done) {
  auto* call = new Call;
  call->type = type;
  call->client = client;
  call->done = std::move(done);
  if (type == OpType::kRead) {
    call->get_request.set_key(key);
    call->get_request.set_consistency(options_.stale_reads
                                          ? v1::CONSISTENCY_STALE
                                          : v1::CONSISTENCY_LINEARIZABLE);
  } else {
    client::Session& session = sessions_[static_cast<size_t>(client)];
    call->set_request.set_key(key);
    call->set_request.set_value(value);
    call->set_request.mutable_request_id()->set_client_id(session.client_id);
    call->set_request.mutable_request_id()->set_sequence(
        ++session.last_sequence);
  }
  Issue(call);
}

void ShardkvTarget::Issue(Call* call) {
  bool stale_read = call->type == OpType::kRead && options_.stale_reads;
  call->endpoint = stale_read ? round_robin_.fetch_add(1) % endpoints_.size()
                              : endpoints_.leader();
  if (!batchers_.empty()) return IssueBatched(call);
  call->context = std::make_unique<grpc::ClientContext>();
  client::SetDeadline(call->context.get(),
                      client::Clock::now() + options_.timeout);
  client::Endpoint& e = endpoints_.at(call->endpoint);
  auto on_done = [this, call](grpc::Status s) { OnComplete(call, s); };
  if (call->type == OpType::kRead) {
    e.kv->async()->Get(call->context.get(), &call->get_request,
                       &call->get_response, std::move(on_done));
  } else {
    e.kv->async()->Set(call->context.get(), &call->set_request,
                       &call->set_response, std::move(on_done));
  }
}

void ShardkvTarget::IssueBatched(Call* call) {
  v1::BatchItem item;
  if (call->type == OpType::kRead) {
    *item.mutable_get() = call->get_request;
  } else {
    *item.mutable_set() = call->set_request;
  }
  batchers_[call->endpoint]->Submit(
      std::move(item), [this, call](const grpc::Status& call_status,
                                    const v1::BatchItemResult& result) {
        if (!call_status.ok()) return OnComplete(call, call_status);
        if (result.code() != 0) {
          return OnComplete(
              call, grpc::Status(static_cast<grpc::StatusCode>(result.code()),
                                 result.message(),
                                 result.detail().SerializeAsString()));
        }
        OnComplete(call, grpc::Status::OK);
      });
}

void ShardkvTarget::OnComplete(Call* call, const grpc::Status& status) {
  if (!status.ok() && call->retries < kMaxRetries) {
    auto detail = client::DecodeErrorDetail(status);
    bool not_leader = detail && detail->reason() == v1::NOT_LEADER;
    if (not_leader && !detail->leader_address().empty()) {
      endpoints_.set_leader(endpoints_.IndexOf(detail->leader_address()));
      ++call->retries;
      return Issue(call);
    }
    if (not_leader || status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      // Unreachable or leaderless: move the shared leader guess along once
      // (unless another call already did) and retry there.
      size_t expected = call->endpoint;
      endpoints_.CompareAndSetLeader(expected,
                                     (expected + 1) % endpoints_.size());
      ++call->retries;
      return Issue(call);
    }
  }
  Status result = status.ok() ? Status::Ok() : client::FromGrpc(status);
  Done done = std::move(call->done);
  delete call;
  done(result);
}

}  // namespace shardkv::bench
