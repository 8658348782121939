#include "node/server/shard_control_service.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/failpoint.h"
#include "node/server/errors.h"
#include "node/storage/slot_export.h"

namespace shardkv::server {
namespace {

constexpr uint64_t kDefaultChunkBytes = 1 << 20;
// Bounded by the server's message limit (16 MiB) with room for framing.
constexpr uint64_t kMaxChunkBytes = 8 << 20;

// The slots a batch command covers (its `slots`, else its one `slot`).
template <typename Request>
int BatchSlots(const Request& request) {
  return std::max(1, request.slots_size());
}

struct Outcome {
  shardkv::Status status;
  storage::ApplyResult result;
  raft::Index applied = 0;
};

class Hosted : public NodeService {
 public:
  explicit Hosted(Replica* replica) : service_(replica) {}
  grpc::Service* service() override { return &service_; }

 private:
  ShardControlService service_;
};

}  // namespace

std::unique_ptr<NodeService> NewShardControlService(Replica* replica) {
  return std::make_unique<Hosted>(replica);
}

grpc::Status ShardControlService::Run(grpc::ServerContext* context,
                                      internal::SlotCommand slot_command,
                                      internal::SlotStateResponse* response,
                                      std::string_view step, int batch_slots) {
  if (!replica_->IsLeader()) {
    LeaderHint hint = replica_->Leader();
    return NotLeader(hint.id, hint.address);
  }
  internal::Command command;
  *command.mutable_slot() = std::move(slot_command);
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> future = promise->get_future();
  const storage::StateMachine* machine = &replica_->state_machine();
  replica_->Propose(
      std::move(command), [promise, machine](const shardkv::Status& s,
                                             const storage::ApplyResult& r) {
        promise->set_value(Outcome{s, r, machine->applied().index});
      });
  auto deadline =
      std::min(context->deadline(),
               std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (future.wait_until(deadline) != std::future_status::ready) {
    return ToGrpc(shardkv::Status(
        Code::kDeadlineExceeded,
        "the slot command was proposed but not applied in time; retry "
        "(steps are idempotent)"));
  }
  Outcome outcome = future.get();
  // Applied, not answered yet: the controller must redo the step. Tests
  // crash at one kind of step with "slot.<step>.after_apply".
  SHARDKV_FAILPOINT("slot.after_apply");
  SHARDKV_FAILPOINT("slot." + std::string(step) + ".after_apply");
  if (outcome.status.code() == Code::kUnavailable) {
    // Slot commands never apply to UNAVAILABLE: this is the replica saying
    // it lost (or never had) leadership; the outcome is unknown.
    LeaderHint hint = replica_->Leader();
    v1::ErrorDetail detail;
    detail.set_reason(v1::NOT_LEADER);
    detail.set_leader_id(hint.id);
    detail.set_leader_address(hint.address);
    return ToGrpc(outcome.status, detail);
  }
  response->set_state(
      static_cast<internal::SlotState>(outcome.result.slot_state));
  response->set_epoch(outcome.result.epoch);
  response->set_applied_index(outcome.applied);
  response->set_batch_slots(static_cast<uint32_t>(batch_slots));
  return ToGrpc(outcome.status);
}

grpc::Status ShardControlService::Assign(
    grpc::ServerContext* context, const internal::AssignSlots* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_assign() = *request;
  return Run(context, std::move(command), response, "Assign", 1);
}

grpc::Status ShardControlService::StartImport(
    grpc::ServerContext* context, const internal::BeginImport* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_begin_import() = *request;
  return Run(context, std::move(command), response, "StartImport",
             BatchSlots(*request));
}

grpc::Status ShardControlService::StartExport(
    grpc::ServerContext* context, const internal::BeginExport* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_begin_export() = *request;
  return Run(context, std::move(command), response, "StartExport",
             BatchSlots(*request));
}

grpc::Status ShardControlService::Import(
    grpc::ServerContext* context, const internal::ImportRecords* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_import_records() = *request;
  // The frozen round's chunks carry the sessions; the copy rounds' never do.
  bool final_round = request->sessions_size() > 0;
  return Run(context, std::move(command), response,
             final_round ? "ImportFinal" : "Import", BatchSlots(*request));
}

grpc::Status ShardControlService::Freeze(
    grpc::ServerContext* context, const internal::FreezeSlot* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_freeze() = *request;
  return Run(context, std::move(command), response, "Freeze",
             BatchSlots(*request));
}

grpc::Status ShardControlService::Activate(
    grpc::ServerContext* context, const internal::ActivateSlot* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_activate() = *request;
  return Run(context, std::move(command), response, "Activate",
             BatchSlots(*request));
}

grpc::Status ShardControlService::Release(
    grpc::ServerContext* context, const internal::ReleaseSlot* request,
    internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_release() = *request;
  return Run(context, std::move(command), response, "Release",
             BatchSlots(*request));
}

grpc::Status ShardControlService::Abort(grpc::ServerContext* context,
                                        const internal::AbortMigration* request,
                                        internal::SlotStateResponse* response) {
  internal::SlotCommand command;
  *command.mutable_abort() = *request;
  return Run(context, std::move(command), response, "Abort",
             BatchSlots(*request));
}

grpc::Status ShardControlService::ExportSlot(
    grpc::ServerContext* context, const internal::ExportSlotRequest* request,
    grpc::ServerWriter<internal::ExportChunk>* writer) {
  uint64_t chunk_bytes =
      request->max_chunk_bytes() == 0
          ? kDefaultChunkBytes
          : std::min(request->max_chunk_bytes(), kMaxChunkBytes);
  std::vector<uint32_t> slots(request->slots().begin(), request->slots().end());
  if (slots.empty()) slots.push_back(request->slot());
  auto image = replica_->state_machine().ExportSlots(
      request->migration_id(), std::move(slots), request->after_index());
  if (!image.ok()) return ToGrpc(image.status());
  const uint32_t batch_slots = std::max(1, request->slots_size());
  internal::ExportChunk chunk;
  while ((*image)->NextChunk(chunk_bytes, &chunk)) {
    chunk.set_batch_slots(batch_slots);
    // A batch exported slot by slot takes the sessions from one slot.
    if (request->omit_sessions()) chunk.clear_sessions();
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
    }
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the caller went away during the export");
    }
    SHARDKV_FAILPOINT("slot.ExportSlot.after_chunk");
  }
  return ToGrpc((*image)->status());
}

grpc::Status ShardControlService::Slots(grpc::ServerContext*,
                                        const internal::SlotsRequest*,
                                        internal::SlotsResponse* response) {
  storage::SlotTable table = replica_->state_machine().Slots();
  response->set_sharded(table.config.sharded);
  response->set_epoch(table.config.epoch);
  response->set_slot_count(table.config.slot_count);
  response->set_owned_slots(table.OwnedCount());
  for (uint32_t slot = 0; slot < table.entries.size(); ++slot) {
    const storage::SlotEntry& e = table.entries[slot];
    if (e.state == storage::SlotState::kNotOwned) continue;
    internal::SlotInfo* info = response->add_slots();
    info->set_slot(slot);
    info->set_state(static_cast<internal::SlotState>(e.state));
    info->set_migration_id(e.migration_id);
  }
  return grpc::Status::OK;
}

}  // namespace shardkv::server
