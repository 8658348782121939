#include "client/endpoint_set.h"

#include <cassert>

namespace shardkv::client {
namespace {

std::unique_ptr<Endpoint> MakeEndpoint(const std::string& address) {
  auto e = std::make_unique<Endpoint>();
  e->address = address;
  e->channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), DefaultChannelArguments());
  e->kv = v1::KV::NewStub(e->channel);
  e->admin = v1::Admin::NewStub(e->channel);
  e->controller = v1::Controller::NewStub(e->channel);
  return e;
}

}  // namespace

grpc::ChannelArguments DefaultChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // Pings only while calls are active: servers reject idle pings by default.
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1'000);
  return args;
}

EndpointSet::EndpointSet(const std::vector<std::string>& addresses) {
  assert(!addresses.empty());
  for (const std::string& a : addresses) endpoints_.push_back(MakeEndpoint(a));
}

size_t EndpointSet::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return endpoints_.size();
}

Endpoint& EndpointSet::at(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return *endpoints_.at(index % endpoints_.size());
}

size_t EndpointSet::IndexOf(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i]->address == address) return i;
  }
  endpoints_.push_back(MakeEndpoint(address));
  return endpoints_.size() - 1;
}

size_t EndpointSet::NextReplica(bool spread) {
  if (!spread) return 0;
  return round_robin_.fetch_add(1, std::memory_order_relaxed) % size();
}

}  // namespace shardkv::client
