#include "orchestration/admin_shard_admin.h"

#include "client/admin_client.h"

namespace shardkv::orchestration {
namespace {

StatusOr<std::unique_ptr<client::AdminClient>> Connect(
    const ShardEndpoints& endpoints, ShardId shard,
    std::chrono::milliseconds timeout) {
  auto list = endpoints(shard);
  if (!list.ok()) return list.status();
  if (list->empty()) {
    return NotFound("no replica of shard " + std::to_string(shard) + " known");
  }
  client::AdminOptions options;
  options.endpoints = *list;
  options.timeout = timeout;
  return client::AdminClient::Create(options);
}

}  // namespace

AdminShardAdmin::AdminShardAdmin(ShardEndpoints endpoints,
                                 std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

StatusOr<v1::StatusResponse> AdminShardAdmin::LeaderStatus(ShardId shard) {
  auto admin = Connect(endpoints_, shard, timeout_);
  if (!admin.ok()) return admin.status();
  Status last = Unavailable("no replica of shard " + std::to_string(shard) +
                            " knows a leader");
  for (const std::string& endpoint : (*admin)->endpoints()) {
    auto status = (*admin)->Status(endpoint);
    if (!status.ok()) {
      last = status.status();
      continue;
    }
    if (status->role() == v1::ROLE_LEADER) return status;
    if (status->leader_address().empty()) continue;
    // The leader may be a replica the caller does not list.
    auto leader = (*admin)->Status(status->leader_address());
    if (leader.ok() && leader->role() == v1::ROLE_LEADER) return leader;
  }
  return last;
}

Status AdminShardAdmin::AddLearner(ShardId shard, ReplicaId id,
                                   const std::string& address) {
  auto admin = Connect(endpoints_, shard, timeout_);
  if (!admin.ok()) return admin.status();
  return (*admin)->AddLearner(id, address).status();
}

Status AdminShardAdmin::Promote(ShardId shard, ReplicaId id) {
  auto admin = Connect(endpoints_, shard, timeout_);
  if (!admin.ok()) return admin.status();
  return (*admin)->Promote(id).status();
}

Status AdminShardAdmin::RemoveMember(ShardId shard, ReplicaId id) {
  auto admin = Connect(endpoints_, shard, timeout_);
  if (!admin.ok()) return admin.status();
  return (*admin)->RemoveMember(id).status();
}

Status AdminShardAdmin::TransferLeadership(ShardId shard, ReplicaId to) {
  auto admin = Connect(endpoints_, shard, timeout_);
  if (!admin.ok()) return admin.status();
  return (*admin)->TransferLeader(to).status();
}

}  // namespace shardkv::orchestration
