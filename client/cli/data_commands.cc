// get, set, del: one call through shardkv::client::RoutingClient each (a
// sharded cluster or a single unsharded shard alike).
#include <iostream>
#include <memory>

#include "client/cli/commands.h"
#include "client/routing_client.h"

namespace shardkv::cli {
namespace {

using client::RoutingClient;

std::unique_ptr<RoutingClient> Connect(const GlobalOptions& global) {
  client::RoutingClientOptions options;
  options.endpoints = global.endpoints;
  options.timeout = global.timeout;
  options.watch_map = false;  // one call: the map fetched at start will do
  auto c = RoutingClient::Create(options);
  if (!c.ok()) {
    std::cerr << "error: " << c.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(c).value();
}

int ReportWriteError(const Status& status) {
  if (auto current = client::ConditionFailedVersion(status)) {
    if (*current == 0) {
      std::cerr << "condition failed: the key does not exist\n";
    } else {
      std::cerr << "condition failed: the key exists with version " << *current
                << "\n";
    }
    return kExitConditionFailed;
  }
  std::cerr << "error: " << status.ToString() << "\n";
  return status.code() == Code::kFailedPrecondition ? kExitConditionFailed
                                                    : kExitError;
}

}  // namespace

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000) s += "." + std::to_string(ms % 1000 / 100);
    return s + "s";
  }
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s % 60) out += std::to_string(s % 60) + "s";
  return out;
}

int RunGet(const GlobalOptions& global, const GetCommand& command) {
  auto client = Connect(global);
  if (!client) return kExitError;
  auto r = client->Get(command.key, command.stale
                                        ? client::Consistency::kStale
                                        : client::Consistency::kLinearizable);
  if (r.status().code() == Code::kNotFound) {
    std::cerr << "not found\n";
    return kExitNotFound;
  }
  if (!r.ok()) {
    std::cerr << "error: " << r.status().ToString() << "\n";
    return kExitError;
  }
  std::cout << r->value << "\n";
  if (command.verbose) {
    std::cout << "version=" << r->version << " ttl="
              << (r->ttl.count() > 0 ? FormatDuration(r->ttl) : "none") << "\n";
  }
  return kExitOk;
}

int RunSet(const GlobalOptions& global, const SetCommand& command) {
  auto client = Connect(global);
  if (!client) return kExitError;
  client::SetOptions options;
  options.ttl = command.ttl;
  options.if_absent = command.if_absent;
  options.if_version = command.if_version;
  auto r = client->Set(command.key, command.value, options);
  if (!r.ok()) return ReportWriteError(r.status());
  std::cout << "OK version=" << r->version << "\n";
  return kExitOk;
}

int RunDel(const GlobalOptions& global, const DelCommand& command) {
  auto client = Connect(global);
  if (!client) return kExitError;
  client::DeleteOptions options;
  options.if_version = command.if_version;
  auto r = client->Delete(command.key, options);
  if (!r.ok()) return ReportWriteError(r.status());
  std::cout << (r->deleted ? "OK deleted" : "OK (not found)") << "\n";
  return kExitOk;
}

}  // namespace shardkv::cli
