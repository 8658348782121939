#include "tests/harness/sharded_cluster.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "common/log.h"
#include "tests/harness/poll_wait.h"

namespace shardkv::test {
namespace {

constexpr NodeId kShardIdBase = 100;

Status FromGrpc(const grpc::Status& s) {
  return Status(static_cast<Code>(s.error_code()), s.error_message());
}

}  // namespace

StatusOr<std::unique_ptr<ShardedCluster>> ShardedCluster::Start(
    ShardedClusterOptions options, milliseconds timeout) {
  std::unique_ptr<ShardedCluster> cluster(new ShardedCluster(options));
  ClusterOptions co;
  co.name = options.name + "-controller";
  co.nodes = options.controllers;
  co.proxies = options.proxies;
  co.tick = options.tick;
  co.election_ticks = options.election_ticks;
  co.extra_flags = options.extra_flags;
  co.extra_flags.insert(co.extra_flags.end(),
                        {"--role", "controller", "--slot-count",
                         std::to_string(options.slot_count)});
  auto controller = ShardCluster::Start(co);
  if (!controller.ok()) return controller.status();
  cluster->controller_ = std::move(controller).value();
  for (uint32_t id = 1; id <= static_cast<uint32_t>(options.shards); ++id) {
    SHARDKV_RETURN_IF_ERROR(cluster->StartShard(id));
  }
  for (uint32_t id : cluster->shard_ids()) {
    auto map = cluster->JoinShard(id);
    if (!map.ok()) return map.status();
  }
  SHARDKV_RETURN_IF_ERROR(cluster->Rebalance());
  auto settled = cluster->WaitSettled(timeout);
  if (!settled.ok()) return settled.status();
  return cluster;
}

ShardedCluster::~ShardedCluster() = default;

std::vector<std::string> ShardedCluster::KeepFiles() {
  std::vector<std::string> dirs = {controller_->KeepFiles()};
  for (auto& [id, shard] : shards_) dirs.push_back(shard->KeepFiles());
  for (auto& shard : retired_) dirs.push_back(shard->KeepFiles());
  return dirs;
}

std::vector<std::string> ShardedCluster::controller_addresses() const {
  return controller_->addresses();
}

std::vector<uint32_t> ShardedCluster::shard_ids() const {
  std::vector<uint32_t> out;
  for (const auto& [id, shard] : shards_) out.push_back(id);
  return out;
}

std::vector<std::string> ShardedCluster::log_paths() const {
  std::vector<std::string> out;
  auto add = [&](const ShardCluster& c) {
    for (NodeId id : c.ids()) out.push_back(c.log_path(id));
  };
  add(*controller_);
  for (const auto& [id, shard] : shards_) add(*shard);
  for (const auto& shard : retired_) add(*shard);
  return out;
}

ClusterOptions ShardedCluster::ShardOptions(uint32_t id) const {
  ClusterOptions so;
  so.name = options_.name + "-shard" + std::to_string(id);
  so.nodes = options_.replicas;
  so.proxies = options_.proxies;
  so.tmpfs_bytes = options_.tmpfs_bytes;
  so.tick = options_.tick;
  so.election_ticks = options_.election_ticks;
  so.first_id = kShardIdBase * id + 1;
  so.extra_flags = options_.extra_flags;
  std::string controllers;
  for (const std::string& a : controller_addresses()) {
    controllers += (controllers.empty() ? "" : ",") + a;
  }
  so.extra_flags.insert(so.extra_flags.end(),
                        {"--role", "shard", "--shard-id", std::to_string(id),
                         "--controller", controllers});
  return so;
}

Status ShardedCluster::StartShard(uint32_t id) {
  if (shards_.contains(id)) {
    return InvalidArgument("shard " + std::to_string(id) + " exists");
  }
  auto shard = ShardCluster::Start(ShardOptions(id));
  if (!shard.ok()) return shard.status();
  shards_[id] = std::move(shard).value();
  return Status::Ok();
}

void ShardedCluster::StopShard(uint32_t id) {
  auto it = shards_.find(id);
  if (it == shards_.end()) return;
  for (NodeId n : it->second->ids()) {
    if (it->second->IsRunning(n)) (void)it->second->Stop(n);
  }
  retired_.push_back(std::move(it->second));
  shards_.erase(it);
}

template <typename Call>
grpc::Status ShardedCluster::AtLeader(milliseconds timeout, const Call& call) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  grpc::Status last(grpc::StatusCode::UNAVAILABLE, "no controller answered");
  std::vector<std::string> order = controller_addresses();
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& address : order) {
      auto& stub = stubs_[address];
      if (!stub) {
        stub = v1::Controller::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(3));
      last = call(*stub, &context);
      if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
          last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return last;
      }
    }
    PollWait(milliseconds(100));
  }
  return last;
}

StatusOr<v1::SlotMap> ShardedCluster::GetMap(milliseconds timeout) {
  v1::SlotMap map;
  grpc::Status s = AtLeader(
      timeout, [&](v1::Controller::Stub& stub, grpc::ClientContext* context) {
        return stub.GetMap(context, v1::GetMapRequest(), &map);
      });
  if (!s.ok()) return FromGrpc(s);
  return map;
}

StatusOr<v1::SlotMap> ShardedCluster::JoinShard(uint32_t id) {
  v1::JoinShardRequest request;
  request.set_shard_id(id);
  ShardCluster& group = shard(id);
  for (NodeId n : group.ids()) {
    if (!group.IsRunning(n)) continue;  // replaced or removed identities
    v1::Member* m = request.add_members();
    m->set_id(n);
    m->set_address(group.address(n));
  }
  v1::SlotMap map;
  grpc::Status s = AtLeader(milliseconds(20000), [&](auto& stub, auto* ctx) {
    return stub.JoinShard(ctx, request, &map);
  });
  if (!s.ok()) return FromGrpc(s);
  min_epoch_ = std::max(min_epoch_, map.epoch());
  return map;
}

Status ShardedCluster::Rebalance() {
  v1::RebalanceResponse response;
  Status s = FromGrpc(AtLeader(milliseconds(20000), [&](auto& stub, auto* ctx) {
    return stub.Rebalance(ctx, v1::RebalanceRequest(), &response);
  }));
  if (s.ok()) min_epoch_ = std::max(min_epoch_, response.map().epoch());
  return s;
}

StatusOr<v1::Migration> ShardedCluster::MoveSlot(uint32_t slot,
                                                 uint32_t to_shard) {
  v1::MoveSlotRequest request;
  request.set_slot(slot);
  request.set_to_shard(to_shard);
  v1::MoveSlotResponse response;
  grpc::Status s = AtLeader(milliseconds(20000), [&](auto& stub, auto* ctx) {
    return stub.MoveSlot(ctx, request, &response);
  });
  if (!s.ok()) return FromGrpc(s);
  return response.migration();
}

Status ShardedCluster::DrainShard(uint32_t id) {
  v1::DrainShardRequest request;
  request.set_shard_id(id);
  v1::SlotMap map;
  Status s = FromGrpc(AtLeader(milliseconds(20000), [&](auto& stub, auto* ctx) {
    return stub.DrainShard(ctx, request, &map);
  }));
  if (s.ok()) min_epoch_ = std::max(min_epoch_, map.epoch());
  return s;
}

Status ShardedCluster::RemoveShard(uint32_t id) {
  v1::RemoveShardRequest request;
  request.set_shard_id(id);
  v1::SlotMap map;
  Status s = FromGrpc(AtLeader(milliseconds(20000), [&](auto& stub, auto* ctx) {
    return stub.RemoveShard(ctx, request, &map);
  }));
  if (s.ok()) min_epoch_ = std::max(min_epoch_, map.epoch());
  return s;
}

StatusOr<v1::SlotMap> ShardedCluster::LeaderMap() {
  // The leader has applied every change it acknowledged; a follower may
  // not have yet.
  auto leader =
      controller_->WaitForLeader(milliseconds(3000), controller_->ids());
  if (!leader.ok()) return leader.status();
  auto& stub = stubs_[controller_->address(*leader)];
  if (!stub) {
    stub = v1::Controller::NewStub(grpc::CreateChannel(
        controller_->address(*leader), grpc::InsecureChannelCredentials()));
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  v1::SlotMap map;
  grpc::Status s = stub->GetMap(&context, v1::GetMapRequest(), &map);
  if (!s.ok()) return FromGrpc(s);
  return map;
}

StatusOr<v1::SlotMap> ShardedCluster::WaitSettled(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no map";
  while (std::chrono::steady_clock::now() < deadline) {
    auto map = LeaderMap();
    if (map.ok()) {
      uint32_t unowned = 0;
      for (uint32_t owner : map->slot_owner()) unowned += owner == 0;
      if (map->epoch() >= min_epoch_ && unowned == 0 &&
          map->migrations_size() == 0 && map->pending_assignments_size() == 0 &&
          !map->rebalancing() &&
          map->slot_owner_size() == static_cast<int>(map->slot_count())) {
        return map;
      }
      last = "epoch " + std::to_string(map->epoch()) +
             " (waiting for >= " + std::to_string(min_epoch_) +
             "): " + std::to_string(unowned) + " unowned slots, " +
             std::to_string(map->migrations_size()) + " migrations, " +
             std::to_string(map->pending_assignments_size()) +
             " unconfirmed assignments" +
             (map->rebalancing() ? ", rebalancing" : "");
    } else {
      last = map.status().ToString();
    }
    PollWait(milliseconds(100));
  }
  return Unavailable("cluster did not settle within " +
                     std::to_string(timeout.count()) + " ms; last: " + last);
}

}  // namespace shardkv::test
