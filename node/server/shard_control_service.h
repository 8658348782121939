// ShardControlService: the node-side migration primitives the controller's
// driver calls (proto/shardkv/internal/shard_control.proto).
//
// Each mutating RPC proposes one SlotCommand (for one slot, or a batch of
// slots: `slots`) through the shard's Raft log
// and answers once it is applied, with the slot's state, the shard's epoch
// and applied index: OK (also for a repeat of a step already applied),
// FAILED_PRECONDITION with the slot's state in the message when the step
// does not fit, UNAVAILABLE + NOT_LEADER (with a hint) on a follower or
// when leadership changed before the command committed (the outcome is
// then unknown: retry; steps are idempotent). ExportSlot streams one round
// from any replica's applied state; Slots reports the applied slot table.
//
// Thread-safety: thread-safe; calls block a gRPC sync thread until the
// command is applied (bounded by the call's deadline, at most 30 s).
#pragma once

#include <memory>
#include <string_view>

#include "node/server/node_server.h"
#include "node/server/replica.h"
#include "shardkv/internal/shard_control.grpc.pb.h"

namespace shardkv::server {

class ShardControlService final : public internal::ShardControl::Service {
 public:
  explicit ShardControlService(Replica* replica) : replica_(replica) {}

  grpc::Status Assign(grpc::ServerContext* context,
                      const internal::AssignSlots* request,
                      internal::SlotStateResponse* response) override;
  grpc::Status StartImport(grpc::ServerContext* context,
                           const internal::BeginImport* request,
                           internal::SlotStateResponse* response) override;
  grpc::Status StartExport(grpc::ServerContext* context,
                           const internal::BeginExport* request,
                           internal::SlotStateResponse* response) override;
  grpc::Status ExportSlot(
      grpc::ServerContext* context, const internal::ExportSlotRequest* request,
      grpc::ServerWriter<internal::ExportChunk>* writer) override;
  grpc::Status Import(grpc::ServerContext* context,
                      const internal::ImportRecords* request,
                      internal::SlotStateResponse* response) override;
  grpc::Status Freeze(grpc::ServerContext* context,
                      const internal::FreezeSlot* request,
                      internal::SlotStateResponse* response) override;
  grpc::Status Activate(grpc::ServerContext* context,
                        const internal::ActivateSlot* request,
                        internal::SlotStateResponse* response) override;
  grpc::Status Release(grpc::ServerContext* context,
                       const internal::ReleaseSlot* request,
                       internal::SlotStateResponse* response) override;
  grpc::Status Abort(grpc::ServerContext* context,
                     const internal::AbortMigration* request,
                     internal::SlotStateResponse* response) override;
  grpc::Status Slots(grpc::ServerContext* context,
                     const internal::SlotsRequest* request,
                     internal::SlotsResponse* response) override;

 private:
  // Proposes `command` and waits for its result. `step` names the RPC in
  // the failpoint "slot.<step>.after_apply" (tests crash at one step);
  // `batch_slots` is the number of slots it covers (echoed in the answer).
  grpc::Status Run(grpc::ServerContext* context, internal::SlotCommand command,
                   internal::SlotStateResponse* response, std::string_view step,
                   int batch_slots);

  Replica* const replica_;
};

// The NodeService factory for role shard (node/cmd/role_services.cc).
std::unique_ptr<NodeService> NewShardControlService(Replica* replica);

}  // namespace shardkv::server
