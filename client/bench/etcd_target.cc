#include "client/bench/etcd_target.h"

#include <grpcpp/grpcpp.h>

#include "client/error_detail.h"
#include "client/retrying_call.h"

namespace shardkv::bench {

struct EtcdTarget::Call {
  Done done;
  grpc::ClientContext context;
  etcdserverpb::RangeRequest range_request;
  etcdserverpb::RangeResponse range_response;
  etcdserverpb::PutRequest put_request;
  etcdserverpb::PutResponse put_response;
};

EtcdTarget::EtcdTarget(const EtcdTargetOptions& options) : options_(options) {
  for (const std::string& e : options_.endpoints) {
    stubs_.push_back(etcdserverpb::KV::NewStub(
        grpc::CreateChannel(e, grpc::InsecureChannelCredentials())));
  }
}

EtcdTarget::~EtcdTarget() = default;

Status EtcdTarget::Check() {
  if (stubs_.empty()) return InvalidArgument("etcd: no endpoints");
  for (size_t i = 0; i < stubs_.size(); ++i) {
    grpc::ClientContext context;
    client::SetDeadline(&context, client::Clock::now() + options_.timeout);
    etcdserverpb::RangeRequest request;
    request.set_key("shardkv-bench-check");
    etcdserverpb::RangeResponse response;
    grpc::Status s = stubs_[i]->Range(&context, request, &response);
    if (!s.ok()) {
      Status status = client::FromGrpc(s);
      return Status(status.code(), "etcd at " + options_.endpoints[i] + ": " +
                                       status.message());
    }
  }
  return Status::Ok();
}

void EtcdTarget::Start(int client, OpType type, const std::string& key,
                       const std::string& value, Done done) {
  auto* call = new Call;
  call->done = std::move(done);
  client::SetDeadline(&call->context, client::Clock::now() + options_.timeout);
  auto on_done = [call](grpc::Status s) {
    Status result = s.ok() ? Status::Ok() : client::FromGrpc(s);
    Done done = std::move(call->done);
    delete call;
    done(result);
  };
  etcdserverpb::KV::Stub& stub =
      *stubs_[static_cast<size_t>(client) % stubs_.size()];
  if (type == OpType::kRead) {
    call->range_request.set_key(key);
    call->range_request.set_serializable(options_.serializable_reads);
    stub.async()->Range(&call->context, &call->range_request,
                        &call->range_response, std::move(on_done));
  } else {
    call->put_request.set_key(key);
    call->put_request.set_value(value);
    stub.async()->Put(&call->context, &call->put_request, &call->put_response,
                      std::move(on_done));
  }
}

}  // namespace shardkv::bench
