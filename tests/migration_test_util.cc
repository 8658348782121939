#include "tests/migration_test_util.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "common/slot.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::test {
namespace {

using std::chrono::milliseconds;

// The shard refused the request because it does not own the key's slot.
bool IsWrongShard(const grpc::Status& s) {
  v1::ErrorDetail detail;
  return s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
         detail.ParseFromString(s.error_details()) &&
         detail.reason() == v1::WRONG_SHARD;
}

std::string Describe(const grpc::Status& s) {
  return s.ok() ? std::string("OK (served)")
                : std::to_string(s.error_code()) + " " + s.error_message();
}

// Checks one replica; `leader` also gets a linearizable read and a write.
Status CheckReplica(const std::string& address, bool leader, uint32_t shard,
                    const std::vector<std::string>& foreign_keys) {
  auto stub = v1::KV::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  auto refused = [&](const std::string& what, const std::string& key,
                     const grpc::Status& s) -> Status {
    if (IsWrongShard(s)) return Status::Ok();
    return Internal("shard " + std::to_string(shard) + " replica " + address +
                    " answered a " + what + " of " + key +
                    ", a key of a slot it does not own, with " + Describe(s));
  };
  for (const std::string& key : foreign_keys) {
    v1::GetRequest get;
    get.set_key(key);
    get.set_consistency(v1::CONSISTENCY_STALE);
    v1::GetResponse got;
    grpc::ClientContext stale;
    stale.set_deadline(std::chrono::system_clock::now() + milliseconds(3000));
    SHARDKV_RETURN_IF_ERROR(
        refused("stale read", key, stub->Get(&stale, get, &got)));
    if (!leader) continue;
    get.set_consistency(v1::CONSISTENCY_LINEARIZABLE);
    grpc::ClientContext linearizable;
    linearizable.set_deadline(std::chrono::system_clock::now() +
                              milliseconds(3000));
    SHARDKV_RETURN_IF_ERROR(
        refused("linearizable read", key, stub->Get(&linearizable, get, &got)));
    v1::SetRequest set;
    set.set_key(key);
    set.set_value("must-not-be-written");
    v1::SetResponse written;
    grpc::ClientContext write;
    write.set_deadline(std::chrono::system_clock::now() + milliseconds(3000));
    SHARDKV_RETURN_IF_ERROR(
        refused("write", key, stub->Set(&write, set, &written)));
  }
  return Status::Ok();
}

}  // namespace

KeyBook::KeyBook(std::vector<std::string> endpoints, int keys,
                 size_t value_bytes)
    : endpoints_(std::move(endpoints)), value_bytes_(value_bytes) {
  for (int i = 0; i < keys; ++i) keys_.push_back("book-" + std::to_string(i));
}

Status KeyBook::Connect() {
  if (client_) return Status::Ok();
  client::RoutingClientOptions options;
  options.endpoints = endpoints_;
  options.timeout = milliseconds(20000);
  auto client = client::RoutingClient::Create(std::move(options));
  if (!client.ok()) return client.status();
  client_ = std::move(client).value();
  return Status::Ok();
}

std::string KeyBook::ValueOf(size_t i) const {
  std::string value = "value-" + std::to_string(i) + "-";
  while (value.size() < value_bytes_) value += static_cast<char>('a' + i % 26);
  return value;
}

Status KeyBook::WriteAll() {
  SHARDKV_RETURN_IF_ERROR(Connect());
  for (size_t i = 0; i < keys_.size(); ++i) {
    auto r = client_->Set(keys_[i], ValueOf(i));
    if (!r.ok()) {
      return Status(r.status().code(),
                    "writing " + keys_[i] + ": " + r.status().message());
    }
  }
  return Status::Ok();
}

Status KeyBook::VerifyAll() {
  SHARDKV_RETURN_IF_ERROR(Connect());
  for (size_t i = 0; i < keys_.size(); ++i) {
    auto r = client_->Get(keys_[i]);
    if (!r.ok()) {
      return Status(r.status().code(),
                    "reading " + keys_[i] + ": " + r.status().ToString());
    }
    if (r->value != ValueOf(i)) {
      return Internal(keys_[i] + " holds '" + r->value.substr(0, 40) +
                      "', not the value written");
    }
  }
  return Status::Ok();
}

Status CheckNoForeignSlotServed(ShardedCluster& cluster, const v1::SlotMap& map,
                                const std::vector<std::string>& keys) {
  for (uint32_t id : cluster.shard_ids()) {
    std::vector<std::string> foreign;
    for (const std::string& key : keys) {
      if (map.slot_owner(SlotOf(key, map.slot_count())) != id) {
        foreign.push_back(key);
      }
    }
    ShardCluster& shard = cluster.shard(id);
    std::vector<NodeId> running;
    for (NodeId n : shard.ids()) {
      if (shard.IsRunning(n)) running.push_back(n);
    }
    auto leader = shard.WaitForLeader(milliseconds(15000), running);
    if (!leader.ok()) return leader.status();
    SHARDKV_RETURN_IF_ERROR(shard.WaitConverged(milliseconds(30000), running));
    for (NodeId n : running) {
      SHARDKV_RETURN_IF_ERROR(
          CheckReplica(shard.address(n), n == *leader, id, foreign));
    }
  }
  return Status::Ok();
}

int RestartStopped(ShardedCluster& cluster) {
  int restarted = 0;
  auto restart = [&](ShardCluster& group) {
    for (NodeId n : group.ids()) {
      if (group.IsRunning(n)) continue;
      if (group.Restart(n).ok()) ++restarted;
    }
  };
  restart(cluster.controller());
  for (uint32_t id : cluster.shard_ids()) restart(cluster.shard(id));
  return restarted;
}

WorkloadOptions MigrationWorkload(uint64_t seed) {
  WorkloadOptions w;
  w.threads = 4;
  w.hot_keys = 4;
  w.cold_keys = 60;
  w.read_fraction = 0.35;
  w.stale_read_fraction = 0.2;
  w.ttl_keys = 8;
  w.ttl_fraction = 0.1;
  w.seed = seed;
  w.op_timeout = milliseconds(3000);
  w.key_prefix = "mig";
  return w;
}

}  // namespace shardkv::test
