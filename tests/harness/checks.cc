#include "tests/harness/checks.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <thread>

#include "client/endpoint_set.h"
#include "client/error_detail.h"
#include "client/routing_client.h"
#include "common/log.h"
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
    out[key] = StoredValue{response.found(), response.value(),
                           response.version(), response.ttl_ms()};
  }
  return out;
}

namespace {

using ReplicaData = std::map<NodeId, std::map<std::string, StoredValue>>;

StatusOr<ReplicaData> ReadReplicas(ShardCluster& cluster,
                                   const std::vector<NodeId>& ids,
                                   const std::vector<std::string>& keys) {
  ReplicaData data;
  for (NodeId id : ids) {
    auto d = StaleReadAll(cluster.address(id), keys);
    if (!d.ok()) return d.status();
    data[id] = std::move(d).value();
  }
  return data;
}

std::string Describe(const StoredValue& v) {
  if (!v.found) return "nothing";
  std::string out = v.value + " v" + std::to_string(v.version);
  if (v.ttl_ms > 0) out += " (ttl " + std::to_string(v.ttl_ms) + " ms)";
  return out;
}

// Keys on which some replica differs from the first one; `diffs` gets a
// line per (key, replica) pair, at most ten.
std::vector<std::string> Differing(const ReplicaData& data,
                                   const std::vector<NodeId>& ids,
                                   const std::vector<std::string>& keys,
                                   std::string* diffs, int* ndiffs) {
  std::vector<std::string> out;
  const auto& reference = data.at(ids[0]);
  for (const std::string& key : keys) {
    bool differs = false;
    for (NodeId id : ids) {
      const StoredValue& a = reference.at(key);
      const StoredValue& b = data.at(id).at(key);
      if (a == b) continue;
      differs = true;
      if (++*ndiffs > 10) continue;
      *diffs += "\n  " + key + ": node " + std::to_string(ids[0]) + " has " +
                Describe(a) + ", node " + std::to_string(id) + " has " +
                Describe(b);
    }
    if (differs) out.push_back(key);
  }
  return out;
}

}  // namespace

Status CheckReplicasAgree(ShardCluster& cluster, const std::vector<NodeId>& ids,
                          const std::vector<std::string>& keys) {
  if (ids.empty()) return Status::Ok();
  auto data = ReadReplicas(cluster, ids, keys);
  if (!data.ok()) return data.status();
  // A key with a TTL can expire between the reads of two replicas: such
  // keys are compared again once the longest TTL seen has run out.
  std::vector<std::string> settled;
  std::vector<std::string> expiring;
  int64_t longest_ttl_ms = 0;
  for (const std::string& key : keys) {
    int64_t ttl = 0;
    for (NodeId id : ids) ttl = std::max(ttl, data->at(id).at(key).ttl_ms);
    (ttl > 0 ? expiring : settled).push_back(key);
    longest_ttl_ms = std::max(longest_ttl_ms, ttl);
  }
  std::string diffs;
  int ndiffs = 0;
  Differing(*data, ids, settled, &diffs, &ndiffs);
  std::string first_pass;
  int first_ndiffs = 0;
  std::vector<std::string> again =
      Differing(*data, ids, expiring, &first_pass, &first_ndiffs);
  if (!again.empty()) {
    SHARDKV_LOG(kInfo) << again.size()
                       << " keys with a TTL differ between replicas read "
                          "one after another; reading them again in "
                       << longest_ttl_ms + 100 << " ms";
    std::this_thread::sleep_for(std::chrono::milliseconds(longest_ttl_ms) +
                                std::chrono::milliseconds(100));
    auto later = ReadReplicas(cluster, ids, again);
    if (!later.ok()) return later.status();
    std::string later_diffs;
    int later_ndiffs = 0;
    Differing(*later, ids, again, &later_diffs, &later_ndiffs);
    if (later_ndiffs > 0) {
      ndiffs += later_ndiffs;
      diffs += later_diffs + "\n  (keys with a TTL, read again " +
               std::to_string(longest_ttl_ms + 100) +
               " ms later; before that:" + first_pass + ")";
    }
  }
  if (ndiffs == 0) return Status::Ok();
  return Internal(std::to_string(ndiffs) +
                  " (key, replica) pairs differ after convergence:" + diffs);
}

}  // namespace shardkv::test
