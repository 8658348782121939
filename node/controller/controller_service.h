// ControllerService: the shardkv.v1.Controller gRPC service of a
// controller replica (callback API; handlers never block).
//
// GetMap, WatchMap and Rebalance(dry_run) answer from this replica's
// applied map (UNAVAILABLE until the leader has created it). Mutations
// need the leader (UNAVAILABLE + NOT_LEADER with the leader hint
// elsewhere), read the map linearizably and store the edited map by CAS
// (map_edits.h holds the rules and their errors). A mutation that changes
// nothing (joining again with the same members, draining a draining shard)
// succeeds without bumping the epoch.
//
// Thread-safety: thread-safe (gRPC calls it from many threads).
#pragma once

#include "node/controller/map_store.h"
#include "node/controller/watch_hub.h"
#include "node/server/replica.h"
#include "shardkv/v1/controller.grpc.pb.h"

namespace shardkv::controller {

class ControllerService : public v1::Controller::CallbackService {
 public:
  ControllerService(server::Replica* replica, SlotMapStore* store,
                    WatchHub* hub)
      : replica_(replica), store_(store), hub_(hub) {}

  grpc::ServerUnaryReactor* GetMap(grpc::CallbackServerContext* context,
                                   const v1::GetMapRequest* request,
                                   v1::SlotMap* response) override;
  grpc::ServerWriteReactor<v1::SlotMap>* WatchMap(
      grpc::CallbackServerContext* context,
      const v1::WatchMapRequest* request) override;
  grpc::ServerUnaryReactor* JoinShard(grpc::CallbackServerContext* context,
                                      const v1::JoinShardRequest* request,
                                      v1::SlotMap* response) override;
  grpc::ServerUnaryReactor* DrainShard(grpc::CallbackServerContext* context,
                                       const v1::DrainShardRequest* request,
                                       v1::SlotMap* response) override;
  grpc::ServerUnaryReactor* CancelDrain(grpc::CallbackServerContext* context,
                                        const v1::CancelDrainRequest* request,
                                        v1::SlotMap* response) override;
  grpc::ServerUnaryReactor* RemoveShard(grpc::CallbackServerContext* context,
                                        const v1::RemoveShardRequest* request,
                                        v1::SlotMap* response) override;
  grpc::ServerUnaryReactor* MoveSlot(grpc::CallbackServerContext* context,
                                     const v1::MoveSlotRequest* request,
                                     v1::MoveSlotResponse* response) override;
  grpc::ServerUnaryReactor* Rebalance(grpc::CallbackServerContext* context,
                                      const v1::RebalanceRequest* request,
                                      v1::RebalanceResponse* response) override;

 private:
  // Runs `edit` on the leader; `done` fills the response from the stored
  // map (on the raft-loop thread) before the reactor finishes.
  grpc::ServerUnaryReactor* Mutate(
      grpc::CallbackServerContext* context, SlotMapStore::Edit edit,
      std::function<void(const v1::SlotMap&)> done);
  grpc::Status ErrorStatus(const Status& status) const;

  server::Replica* const replica_;
  SlotMapStore* const store_;
  WatchHub* const hub_;
};

}  // namespace shardkv::controller
