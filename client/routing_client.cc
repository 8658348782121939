#include "client/routing_client.h"

#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "client/controller_client.h"
#include "client/endpoint_set.h"
#include "client/error_detail.h"
#include "client/shard_router.h"

namespace shardkv::client {
namespace {

// What the endpoints told us about the cluster.
struct Discovery {
  // Empty: an unsharded shard (serve through Client on the endpoints).
  std::vector<std::string> controllers;
  std::optional<v1::SlotMap> map;  // when a controller answered directly
};

grpc::ClientContext* WithDeadline(grpc::ClientContext* c,
                                  const RetryPolicy& policy,
                                  Clock::time_point deadline) {
  SetDeadline(c, std::min(deadline, Clock::now() + policy.attempt_timeout));
  return c;
}

// The controller group's members as `controller` (a controller replica)
// reports them, the given address first; just the address when unknown.
std::vector<std::string> ControllerGroup(Endpoint& controller,
                                         const RetryPolicy& policy,
                                         Clock::time_point deadline) {
  std::vector<std::string> out = {controller.address};
  grpc::ClientContext c;
  v1::StatusResponse status;
  if (!controller.admin->Status(WithDeadline(&c, policy, deadline), {}, &status)
           .ok()) {
    return out;
  }
  for (const v1::Member& m : status.members()) {
    if (!m.address().empty() &&
        std::find(out.begin(), out.end(), m.address()) == out.end()) {
      out.push_back(m.address());
    }
  }
  return out;
}

// Asks one endpoint; nullopt when it did not answer usefully (`last` says
// why).
std::optional<Discovery> AskEndpoint(Endpoint& e, const RetryPolicy& policy,
                                     Clock::time_point deadline, Status* last) {
  v1::SlotMap map;
  grpc::ClientContext c1;
  grpc::Status s =
      e.controller->GetMap(WithDeadline(&c1, policy, deadline), {}, &map);
  if (s.ok()) {
    return Discovery{ControllerGroup(e, policy, deadline), std::move(map)};
  }
  if (s.error_code() != grpc::StatusCode::UNIMPLEMENTED) {
    *last = Status(FromGrpc(s).code(), e.address + ": " + s.error_message());
    return std::nullopt;
  }
  // A shard node: it knows where its controller is, if it has one.
  v1::StatusResponse status;
  grpc::ClientContext c2;
  s = e.admin->Status(WithDeadline(&c2, policy, deadline), {}, &status);
  if (!s.ok() && s.error_code() != grpc::StatusCode::UNIMPLEMENTED) {
    *last = Status(FromGrpc(s).code(), e.address + ": " + s.error_message());
    return std::nullopt;
  }
  Discovery d;
  d.controllers.assign(status.controller_endpoints().begin(),
                       status.controller_endpoints().end());
  return d;
}

StatusOr<Discovery> Discover(const RoutingClientOptions& options,
                             Clock::time_point deadline) {
  EndpointSet endpoints(options.endpoints);
  Status last = Unavailable("no endpoint answered");
  for (int round = 0; Clock::now() < deadline; ++round) {
    for (size_t i = 0; i < endpoints.size() && Clock::now() < deadline; ++i) {
      auto d = AskEndpoint(endpoints.at(i), options.retry, deadline, &last);
      if (d) return std::move(*d);
    }
    std::this_thread::sleep_until(
        std::min(deadline, Clock::now() + BackoffDelay(options.retry, round)));
  }
  return Unavailable("could not reach the cluster before the deadline: " +
                     last.ToString());
}

Status ValidateOptions(const RoutingClientOptions& options) {
  if (options.endpoints.empty()) {
    return InvalidArgument("no endpoints given (host:port,...)");
  }
  for (const std::string& e : options.endpoints) {
    if (e.empty() || e.find(':') == std::string::npos) {
      return InvalidArgument("endpoint '" + e + "' is not host:port");
    }
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgument("timeout must be positive");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<RoutingClient>> RoutingClient::Create(
    RoutingClientOptions options) {
  SHARDKV_RETURN_IF_ERROR(ValidateOptions(options));
  Clock::time_point deadline = Clock::now() + options.timeout;
  auto discovery = Discover(options, deadline);
  if (!discovery.ok()) return discovery.status();
  std::unique_ptr<RoutingClient> client(new RoutingClient(options));
  if (discovery->controllers.empty()) {
    ClientOptions single;
    single.endpoints = options.endpoints;
    single.timeout = options.timeout;
    single.retry = options.retry;
    single.spread_stale_reads = options.spread_stale_reads;
    auto c = Client::Create(std::move(single));
    if (!c.ok()) return c.status();
    client->single_shard_ = std::move(c).value();
    return client;
  }
  ControllerOptions copts;
  copts.endpoints = discovery->controllers;
  copts.timeout = options.timeout;
  copts.retry = options.retry;
  auto controller = ControllerClient::Create(std::move(copts));
  if (!controller.ok()) return controller.status();
  if (!discovery->map) {
    auto map = (*controller)->GetMap(deadline);
    if (!map.ok()) {
      return Unavailable("the controller did not give the slot map: " +
                         map.status().ToString());
    }
    discovery->map = std::move(*map);
  }
  Status valid = ValidateSlotMap(*discovery->map);
  if (!valid.ok()) {
    return Unavailable("the controller's slot map is unusable: " +
                       valid.message());
  }
  client->router_ = std::make_unique<ShardRouter>(
      options, std::move(controller).value(), *discovery->map);
  return client;
}

RoutingClient::RoutingClient(RoutingClientOptions options)
    : options_(std::move(options)) {}

RoutingClient::~RoutingClient() = default;

StatusOr<GetResult> RoutingClient::Get(
    std::string_view key, Consistency consistency,
    std::optional<std::chrono::milliseconds> timeout) {
  if (single_shard_) return single_shard_->Get(key, consistency, timeout);
  return router_->Get(key, consistency,
                      Clock::now() + timeout.value_or(options_.timeout));
}

StatusOr<SetResult> RoutingClient::Set(std::string_view key,
                                       std::string_view value,
                                       const SetOptions& options) {
  if (single_shard_) return single_shard_->Set(key, value, options);
  if (options.if_absent && options.if_version) {
    return InvalidArgument("if_absent and if_version are exclusive");
  }
  if (options.ttl.count() < 0) return InvalidArgument("negative ttl");
  return router_->Set(
      key, value, options,
      Clock::now() + options.timeout.value_or(options_.timeout));
}

StatusOr<DeleteResult> RoutingClient::Delete(std::string_view key,
                                             const DeleteOptions& options) {
  if (single_shard_) return single_shard_->Delete(key, options);
  return router_->Delete(
      key, options, Clock::now() + options.timeout.value_or(options_.timeout));
}

bool RoutingClient::sharded() const { return router_ != nullptr; }

std::shared_ptr<const v1::SlotMap> RoutingClient::slot_map() const {
  return router_ ? router_->cache().Current() : nullptr;
}

Status RoutingClient::RefreshMap(
    std::optional<std::chrono::milliseconds> timeout) {
  if (!router_) return Status::Ok();
  Clock::time_point now = Clock::now();
  return router_->RefreshMap(now, now + timeout.value_or(options_.timeout));
}

uint32_t RoutingClient::ShardOf(std::string_view key) const {
  auto map = slot_map();
  return map ? OwnerOfKey(*map, key) : 0;
}

std::vector<std::string> RoutingClient::controller_endpoints() const {
  return router_ ? router_->controller_endpoints() : std::vector<std::string>{};
}

RoutingStats RoutingClient::stats() const {
  return router_ ? router_->stats() : RoutingStats{};
}

}  // namespace shardkv::client
