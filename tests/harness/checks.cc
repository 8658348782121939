#include "tests/harness/checks.h"

#include <grpcpp/grpcpp.h>

#include "client/endpoint_set.h"
#include "client/error_detail.h"
#include "client/routing_client.h"
#include "testing/lincheck/checker.h"
#include "testing/lincheck/history_json.h"

namespace shardkv::test {

Status RecordFinalReads(const std::vector<std::string>& endpoints,
                        const std::vector<std::string>& keys,
                        lincheck::History* history) {
  client::RoutingClientOptions co;
  co.endpoints = endpoints;
  co.timeout = std::chrono::milliseconds(10000);
  auto client = client::RoutingClient::Create(std::move(co));
  if (!client.ok()) return client.status();
  for (const std::string& key : keys) {
    auto id = history->BeginOp(0, lincheck::GetInput(key));
    auto r = (*client)->Get(key, client::Consistency::kLinearizable);
    if (r.ok()) {
      history->EndOp(id, lincheck::GetFoundVersion(r->value, r->version));
    } else if (r.status().code() == Code::kNotFound) {
      history->EndOp(id, lincheck::GetNotFound());
    } else {
      history->EndOp(id, lincheck::UnknownOutcome());
      return Unavailable("final read of " + key +
                         " failed: " + r.status().ToString());
    }
  }
  return Status::Ok();
}

Status CheckLinearizable(const lincheck::History& history,
                         const std::string& save_path,
                         std::chrono::seconds budget) {
  std::vector<lincheck::Operation> ops = history.Operations();
  lincheck::CheckResult result =
      lincheck::Check(ops, std::chrono::steady_clock::now() + budget);
  if (result.ok()) return Status::Ok();
  Status saved = lincheck::WriteHistoryFile(save_path, ops);
  std::string where = saved.ok()
                          ? "history saved to " + save_path +
                                " (replay: lincheck_tool " + save_path + ")"
                          : "history not saved: " + saved.ToString();
  return Internal("history of " + std::to_string(ops.size()) +
                  " operations is not linearizable (" +
                  lincheck::VerdictName(result.verdict) + "); " + where + "\n" +
                  result.Summary());
}

StatusOr<std::map<std::string, StoredValue>> StaleReadAll(
    const std::string& address, const std::vector<std::string>& keys) {
  auto channel =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                client::DefaultChannelArguments());
  auto stub = v1::KV::NewStub(channel);
  std::map<std::string, StoredValue> out;
  for (const std::string& key : keys) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::GetRequest request;
    request.set_key(key);
    request.set_consistency(v1::CONSISTENCY_STALE);
    v1::GetResponse response;
    grpc::Status s = stub->Get(&context, request, &response);
    if (!s.ok()) {
      return Unavailable("stale read of " + key + " on " + address + ": " +
                         client::FromGrpc(s).ToString());
    }
    out[key] =
        StoredValue{response.found(), response.value(), response.version()};
  }
  return out;
}

Status CheckReplicasAgree(ShardCluster& cluster, const std::vector<NodeId>& ids,
                          const std::vector<std::string>& keys) {
  if (ids.empty()) return Status::Ok();
  std::map<NodeId, std::map<std::string, StoredValue>> data;
  for (NodeId id : ids) {
    auto d = StaleReadAll(cluster.address(id), keys);
    if (!d.ok()) return d.status();
    data[id] = std::move(d).value();
  }
  std::string diffs;
  int ndiffs = 0;
  const auto& reference = data[ids[0]];
  for (const std::string& key : keys) {
    for (NodeId id : ids) {
      const StoredValue& a = reference.at(key);
      const StoredValue& b = data[id].at(key);
      if (a == b) continue;
      if (++ndiffs > 10) continue;
      diffs +=
          "\n  " + key + ": node " + std::to_string(ids[0]) + " has " +
          (a.found ? a.value + " v" + std::to_string(a.version) : "nothing") +
          ", node " + std::to_string(id) + " has " +
          (b.found ? b.value + " v" + std::to_string(b.version) : "nothing");
    }
  }
  if (ndiffs == 0) return Status::Ok();
  return Internal(std::to_string(ndiffs) +
                  " (key, replica) pairs differ after convergence:" + diffs);
}

}  // namespace shardkv::test
