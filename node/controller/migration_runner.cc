#include "node/controller/migration_runner.h"

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "node/controller/map_edits.h"

namespace shardkv::controller {
namespace {

using Clock = std::chrono::steady_clock;
using Stub = internal::ShardControl::Stub;

// A whole copy round is one stream (plus the imports it feeds).
constexpr std::chrono::milliseconds kRoundTimeout(120000);

std::string Describe(const v1::Migration& m) {
  return "migration " + std::to_string(m.id()) + " (slot " +
         std::to_string(m.slot()) + ", shard " +
         std::to_string(m.from_shard()) + " -> " +
         std::to_string(m.to_shard()) + ")";
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start)
      .count();
}

}  // namespace

Status MigrationRunner::Run(uint64_t id) {
  Clock::time_point phase_start = Clock::now();
  uint64_t as_of = 0;  // last round's image; 0 after a restart: full copy
  uint64_t keys = 0, bytes = 0;
  // The map to act on: read once, then the map each phase change wrote
  // (a later change is caught by that next phase change's CAS check).
  std::optional<v1::SlotMap> known;
  while (!stop_->load()) {
    if (!known) {
      auto stored = store_->ReadBlocking();
      if (!stored.ok()) return stored.status();
      known = std::move(stored->map);
    }
    Context c;
    c.map = std::move(*known);
    known.reset();
    const v1::Migration* m = FindMigration(c.map, id);
    if (m == nullptr) return Status::Ok();
    c.migration = *m;
    const v1::Shard* from = FindShard(c.map, m->from_shard());
    const v1::Shard* to = FindShard(c.map, m->to_shard());
    if (from == nullptr || to == nullptr) {
      return Internal(Describe(*m) + " names a shard not in the map");
    }
    c.from = *from;
    c.to = *to;

    v1::MigrationPhase phase = m->phase();
    SlotMapStore::Edit next;
    if (m->cancelled() && phase < v1::MIGRATION_FREEZING) {
      SHARDKV_RETURN_IF_ERROR(Abort(c));
      next = [id](v1::SlotMap* map) { return FinishMigration(id, map); };
    } else if (phase == v1::MIGRATION_PREPARING) {
      SHARDKV_RETURN_IF_ERROR(Prepare(c));
      next = [id](v1::SlotMap* map) {
        return SetMigrationPhase(id, v1::MIGRATION_PREPARING,
                                 v1::MIGRATION_COPYING, 0, 0, map);
      };
    } else if (phase == v1::MIGRATION_COPYING) {
      SHARDKV_RETURN_IF_ERROR(Copy(c, &as_of, &keys, &bytes));
      next = [id, keys, bytes](v1::SlotMap* map) {
        return SetMigrationPhase(id, v1::MIGRATION_COPYING,
                                 v1::MIGRATION_FREEZING, keys, bytes, map);
      };
    } else if (phase == v1::MIGRATION_FREEZING) {
      // as_of is still 0 when this run resumed here (failover): the final
      // round then copies everything, under the freeze.
      SHARDKV_RETURN_IF_ERROR(FreezeAndFinalRound(c, as_of, &keys, &bytes));
      next = [id, keys, bytes](v1::SlotMap* map) {
        return SwitchOwner(id, keys, bytes, map);
      };
    } else if (phase == v1::MIGRATION_SWITCHED) {
      SHARDKV_RETURN_IF_ERROR(ActivateAndRelease(c));
      next = [id](v1::SlotMap* map) { return FinishMigration(id, map); };
    } else {
      return Internal(Describe(*m) + " has no phase");
    }
    // The phase's steps are done on the shards, not recorded yet (the next
    // driver redoes them), and then recorded.
    SHARDKV_FAILPOINT("migration." + v1::MigrationPhase_Name(phase) +
                      ".before_record");
    auto updated = store_->UpdateBlocking(next);
    if (updated.status().code() == Code::kFailedPrecondition) {
      // The record moved under us (cancelled meanwhile): act on it now.
      SHARDKV_LOG(kInfo) << Describe(c.migration) << ": "
                         << updated.status().message() << "; re-reading";
      continue;
    }
    if (!updated.ok()) return updated.status();
    SHARDKV_FAILPOINT("migration." + v1::MigrationPhase_Name(phase) +
                      ".after_record");
    known = *updated;
    const v1::Migration* after = FindMigration(*updated, id);
    SHARDKV_LOG(kInfo)
        << Describe(c.migration) << ": " << v1::MigrationPhase_Name(phase)
        << (m->cancelled() ? " (cancelled)" : "") << " -> "
        << (after ? v1::MigrationPhase_Name(after->phase())
                  : std::string("done"))
        << " after " << MillisSince(phase_start) << " ms"
        << (after ? ""
                  : ", " + std::to_string(WallClockMs() - m->started_ms()) +
                        " ms in all, " + std::to_string(keys) + " keys, " +
                        std::to_string(bytes) + " bytes");
    phase_start = Clock::now();
  }
  return Unavailable("driver stopping");
}

Status MigrationRunner::Prepare(const Context& c) {
  const v1::Migration& m = c.migration;
  internal::BeginImport import;
  import.set_migration_id(m.id());
  import.set_slot(m.slot());
  import.set_epoch(c.map.epoch());
  import.set_slot_count(c.map.slot_count());
  auto r = caller_->Unary(c.to, "StartImport", &Stub::StartImport, import);
  if (!r.ok()) return r.status();
  internal::BeginExport export_;
  export_.set_migration_id(m.id());
  export_.set_slot(m.slot());
  export_.set_epoch(c.map.epoch());
  return caller_->Unary(c.from, "StartExport", &Stub::StartExport, export_)
      .status();
}

Status MigrationRunner::Copy(const Context& c, uint64_t* as_of, uint64_t* keys,
                             uint64_t* bytes) {
  *as_of = 0;
  *keys = 0;
  *bytes = 0;
  for (int round = 0; round < kMaxCopyRounds && !stop_->load(); ++round) {
    Round r;
    SHARDKV_RETURN_IF_ERROR(CopyRound(c, *as_of, &r));
    if (r.chunks > 0) *as_of = r.as_of_index;
    *keys += r.keys;
    *bytes += r.bytes;
    SHARDKV_LOG(kDebug) << "migration " << c.migration.id() << " round "
                        << round << ": " << r.keys << " keys, "
                        << r.changed_keys << " changed";
    if (r.changed_keys < kFreezeBelowChangedKeys) return Status::Ok();
  }
  return stop_->load() ? Unavailable("driver stopping") : Status::Ok();
}

Status MigrationRunner::FreezeAndFinalRound(const Context& c,
                                            uint64_t after_index,
                                            uint64_t* keys, uint64_t* bytes) {
  internal::FreezeSlot freeze;
  freeze.set_migration_id(c.migration.id());
  freeze.set_slot(c.migration.slot());
  auto frozen = caller_->Unary(c.from, "Freeze", &Stub::Freeze, freeze);
  if (!frozen.ok()) return frozen.status();
  Round r;
  SHARDKV_RETURN_IF_ERROR(CopyRound(c, after_index, &r));
  if (r.chunks == 0 || !r.frozen) {
    return FailedPrecondition("migration " + std::to_string(c.migration.id()) +
                              ": the source's final round was not frozen");
  }
  *keys += r.keys;
  *bytes += r.bytes;
  return Status::Ok();
}

Status MigrationRunner::ActivateAndRelease(const Context& c) {
  internal::ActivateSlot activate;
  activate.set_migration_id(c.migration.id());
  activate.set_slot(c.migration.slot());
  activate.set_epoch(c.map.epoch());
  auto r = caller_->Unary(c.to, "Activate", &Stub::Activate, activate);
  if (!r.ok()) return r.status();
  // The target serves the slot, the source still holds its data.
  SHARDKV_FAILPOINT("migration.SWITCHED.after_activate");
  internal::ReleaseSlot release;
  release.set_migration_id(c.migration.id());
  release.set_slot(c.migration.slot());
  release.set_epoch(c.map.epoch());
  return caller_->Unary(c.from, "Release", &Stub::Release, release).status();
}

Status MigrationRunner::Abort(const Context& c) {
  internal::AbortMigration abort;
  abort.set_migration_id(c.migration.id());
  abort.set_slot(c.migration.slot());
  abort.set_epoch(c.map.epoch());
  auto r = caller_->Unary(c.to, "Abort", &Stub::Abort, abort);
  if (!r.ok()) return r.status();
  return caller_->Unary(c.from, "Abort", &Stub::Abort, abort).status();
}

Status MigrationRunner::CopyRound(const Context& c, uint64_t after_index,
                                  Round* round) {
  internal::ExportSlotRequest request;
  request.set_migration_id(c.migration.id());
  request.set_slot(c.migration.slot());
  request.set_after_index(after_index);
  request.set_max_chunk_bytes(kExportChunkBytes);
  Status import_error;
  Status s = caller_->Call(
      c.from, "ExportSlot",
      [&](Stub* stub, grpc::ClientContext* context) {
        *round = Round{};  // a retried attempt starts the round again
        auto reader = stub->ExportSlot(context, request);
        internal::ExportChunk chunk;
        Clock::time_point started = Clock::now();
        while (reader->Read(&chunk)) {
          if (round->chunks++ == 0) round->changed_keys = chunk.changed_keys();
          round->as_of_index = chunk.as_of_index();
          round->frozen = chunk.frozen();
          internal::ImportRecords import;
          import.set_migration_id(c.migration.id());
          import.set_slot(c.migration.slot());
          for (const internal::SlotRecord& record : chunk.records()) {
            round->bytes += record.key().size() + record.value().size();
          }
          round->keys += chunk.records_size();
          *import.mutable_records() = std::move(*chunk.mutable_records());
          *import.mutable_sessions() = std::move(*chunk.mutable_sessions());
          auto imported = caller_->Unary(c.to, "Import", &Stub::Import, import);
          if (!imported.ok()) {
            import_error = imported.status();
            context->TryCancel();
            reader->Finish();
            return grpc::Status(grpc::StatusCode::ABORTED, "import failed");
          }
        }
        grpc::Status finished = reader->Finish();
        SHARDKV_LOG(kDebug)
            << "migration " << c.migration.id() << " round of " << round->chunks
            << " chunks ended after " << MillisSince(started)
            << " ms: " << finished.error_message();
        return finished;
      },
      kRoundTimeout);
  if (!import_error.ok()) return import_error;
  return s;
}

}  // namespace shardkv::controller
