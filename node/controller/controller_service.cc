#include "node/controller/controller_service.h"

#include <memory>

#include "common/clock.h"
#include "node/controller/map_edits.h"
#include "node/server/errors.h"

namespace shardkv::controller {
namespace {

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::Status ControllerService::ErrorStatus(const Status& status) const {
  if (status.code() == Code::kUnavailable && !replica_->IsLeader()) {
    server::LeaderHint hint = replica_->Leader();
    return server::NotLeader(hint.id, hint.address);
  }
  return server::ToGrpc(status);
}

grpc::ServerUnaryReactor* ControllerService::Mutate(
    grpc::CallbackServerContext* context, SlotMapStore::Edit edit,
    std::function<void(const v1::SlotMap&)> done) {
  if (!replica_->IsLeader())
    return Finished(context, ErrorStatus(Unavailable("")));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Update(std::move(edit), [this, reactor, done = std::move(done)](
                                      StatusOr<v1::SlotMap> stored) {
    if (!stored.ok()) {
      reactor->Finish(ErrorStatus(stored.status()));
      return;
    }
    done(*stored);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::GetMap(
    grpc::CallbackServerContext* context, const v1::GetMapRequest*,
    v1::SlotMap* response) {
  auto stored = store_->Applied();
  if (!stored.ok()) return Finished(context, server::ToGrpc(stored.status()));
  if (!stored->exists) {
    return Finished(context,
                    server::ToGrpc(Unavailable(
                        "the slot map is not created yet (no controller "
                        "leader elected yet?); retry")));
  }
  *response = std::move(stored->map);
  return Finished(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::SlotMap>* ControllerService::WatchMap(
    grpc::CallbackServerContext*, const v1::WatchMapRequest* request) {
  return hub_->Open(request->after_epoch());
}

grpc::ServerUnaryReactor* ControllerService::JoinShard(
    grpc::CallbackServerContext* context, const v1::JoinShardRequest* request,
    v1::SlotMap* response) {
  v1::JoinShardRequest copy = *request;
  return Mutate(
      context,
      [copy](v1::SlotMap* map) { return controller::JoinShard(copy, map); },
      [response](const v1::SlotMap& map) { *response = map; });
}

grpc::ServerUnaryReactor* ControllerService::DrainShard(
    grpc::CallbackServerContext* context, const v1::DrainShardRequest* request,
    v1::SlotMap* response) {
  uint32_t id = request->shard_id();
  return Mutate(
      context,
      [id](v1::SlotMap* map) { return controller::DrainShard(id, map); },
      [response](const v1::SlotMap& map) { *response = map; });
}

grpc::ServerUnaryReactor* ControllerService::CancelDrain(
    grpc::CallbackServerContext* context, const v1::CancelDrainRequest* request,
    v1::SlotMap* response) {
  uint32_t id = request->shard_id();
  return Mutate(
      context,
      [id](v1::SlotMap* map) { return controller::CancelDrain(id, map); },
      [response](const v1::SlotMap& map) { *response = map; });
}

grpc::ServerUnaryReactor* ControllerService::RemoveShard(
    grpc::CallbackServerContext* context, const v1::RemoveShardRequest* request,
    v1::SlotMap* response) {
  uint32_t id = request->shard_id();
  return Mutate(
      context,
      [id](v1::SlotMap* map) { return controller::RemoveShard(id, map); },
      [response](const v1::SlotMap& map) { *response = map; });
}

grpc::ServerUnaryReactor* ControllerService::MoveSlot(
    grpc::CallbackServerContext* context, const v1::MoveSlotRequest* request,
    v1::MoveSlotResponse* response) {
  uint32_t slot = request->slot(), to = request->to_shard();
  auto added = std::make_shared<v1::Migration>();
  return Mutate(
      context,
      [slot, to, added](v1::SlotMap* map) {
        auto m = AddMigration(slot, to, NextMigrationId(*map, 0), WallClockMs(),
                              map);
        if (!m.ok()) return m.status();
        *added = *m;
        return Status::Ok();
      },
      [response, added](const v1::SlotMap&) {
        *response->mutable_migration() = *added;
      });
}

grpc::ServerUnaryReactor* ControllerService::Rebalance(
    grpc::CallbackServerContext* context, const v1::RebalanceRequest* request,
    v1::RebalanceResponse* response) {
  auto fill = [response](const RebalancePlan& plan, const v1::SlotMap& map) {
    response->mutable_moves()->Assign(plan.moves.begin(), plan.moves.end());
    response->set_assigned(static_cast<uint32_t>(plan.assignments.size()));
    *response->mutable_map() = map;
  };
  if (request->dry_run()) {
    auto stored = store_->Applied();
    if (!stored.ok()) return Finished(context, server::ToGrpc(stored.status()));
    if (!stored->exists) {
      return Finished(context, server::ToGrpc(Unavailable(
                                   "the slot map is not created yet; retry")));
    }
    fill(PlanRebalance(stored->map), stored->map);
    return Finished(context, grpc::Status::OK);
  }
  auto plan = std::make_shared<RebalancePlan>();
  return Mutate(
      context,
      [plan](v1::SlotMap* map) {
        auto p = StartRebalance(map);
        if (!p.ok()) return p.status();
        *plan = std::move(*p);
        return Status::Ok();
      },
      [plan, fill](const v1::SlotMap& map) { fill(*plan, map); });
}

}  // namespace shardkv::controller
