#include "node/controller/migration_runner.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

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
  std::string slots = std::to_string(m.slot());
  if (m.slots_size() > 1) {
    slots = std::to_string(m.slots_size()) + " slots from " + slots;
  } else {
    slots = "slot " + slots;
  }
  return "migration " + std::to_string(m.id()) + " (" + slots + ", shard " +
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
  AsOf as_of;  // last rounds' images; empty after a restart: full copy
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
    c.slots = MigrationSlots(*m);
    c.parallelism = std::clamp<size_t>(
        kSlotCallBudget / std::max(1, c.map.migrations_size()),
        kMinSlotParallelism, kMaxSlotParallelism);
    if (as_of.size() != c.slots.size()) as_of.assign(c.slots.size(), 0);
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
      // rounds then copy everything, under the freeze.
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

bool MigrationRunner::AcquireFreeze() {
  std::unique_lock<std::mutex> lock(freeze_mu_);
  while (freezing_ >= kConcurrentFreezes) {
    if (stop_->load()) return false;
    freeze_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  ++freezing_;
  return true;
}

void MigrationRunner::ReleaseFreeze() {
  {
    std::lock_guard<std::mutex> lock(freeze_mu_);
    --freezing_;
  }
  freeze_cv_.notify_one();
}

Status MigrationRunner::ForEachSlot(const Context& c, size_t width,
                                    const std::function<Status(size_t)>& step) {
  const size_t n = c.slots.size();
  if (n == 1) return step(0);
  std::mutex mu;
  size_t next = 0;
  Status first_error;
  auto work = [&] {
    while (true) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= n) return;
        i = next++;
      }
      Status s = step(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
      }
    }
  };
  std::vector<std::thread> threads;
  width = std::min(n, std::max<size_t>(width, 1));
  for (size_t t = 1; t < width; ++t) {
    threads.emplace_back([&work] {
      pthread_setname_np(pthread_self(), "ctl-mig-slot");
      work();
    });
  }
  work();  // this thread is one of them
  for (std::thread& t : threads) t.join();
  return first_error;
}

Status MigrationRunner::Prepare(const Context& c) {
  const v1::Migration& m = c.migration;
  // Every slot importing on T before any is exported from S (as for one
  // slot: the target is ready before the source tracks changes).
  SHARDKV_RETURN_IF_ERROR(ForEachSlot(c, [&](size_t i) {
    internal::BeginImport import;
    import.set_migration_id(m.id());
    import.set_slot(c.slots[i]);
    import.set_epoch(c.map.epoch());
    import.set_slot_count(c.map.slot_count());
    return caller_->Unary(c.to, "StartImport", &Stub::StartImport, import)
        .status();
  }));
  return ForEachSlot(c, [&](size_t i) {
    internal::BeginExport export_;
    export_.set_migration_id(m.id());
    export_.set_slot(c.slots[i]);
    export_.set_epoch(c.map.epoch());
    return caller_->Unary(c.from, "StartExport", &Stub::StartExport, export_)
        .status();
  });
}

Status MigrationRunner::BatchRound(const Context& c, size_t width, AsOf* as_of,
                                   bool final_round, Round* total) {
  std::mutex mu;
  *total = Round{};
  total->frozen = true;
  return ForEachSlot(c, width, [&](size_t i) {
    Round r;
    // A batch needs the sessions once: the first slot's final round
    // carries them (every slot is frozen before any final round starts).
    SHARDKV_RETURN_IF_ERROR(
        CopyRound(c, c.slots[i], (*as_of)[i], final_round && i > 0, &r));
    std::lock_guard<std::mutex> lock(mu);
    if (r.chunks > 0) (*as_of)[i] = r.as_of_index;
    total->changed_keys += r.changed_keys;
    total->keys += r.keys;
    total->bytes += r.bytes;
    total->chunks += r.chunks;
    if (r.chunks == 0 || !r.frozen) total->frozen = false;
    return Status::Ok();
  });
}

Status MigrationRunner::Copy(const Context& c, AsOf* as_of, uint64_t* keys,
                             uint64_t* bytes) {
  as_of->assign(c.slots.size(), 0);
  *keys = 0;
  *bytes = 0;
  for (int round = 0; round < kMaxCopyRounds && !stop_->load(); ++round) {
    Round r;
    SHARDKV_RETURN_IF_ERROR(BatchRound(c, c.parallelism, as_of, false, &r));
    *keys += r.keys;
    *bytes += r.bytes;
    SHARDKV_LOG(kDebug) << Describe(c.migration) << " round " << round << ": "
                        << r.keys << " keys, " << r.changed_keys << " changed";
    // The bulk round of a batch takes long enough for many changes to pile
    // up: a catch-up round after it keeps the final (frozen) round short.
    bool bulk_of_batch = round == 0 && c.slots.size() > 1;
    if (r.changed_keys < kFreezeBelowChangedKeys && !bulk_of_batch) {
      return Status::Ok();
    }
  }
  return stop_->load() ? Unavailable("driver stopping") : Status::Ok();
}

Status MigrationRunner::FreezeAndFinalRound(const Context& c,
                                            const AsOf& after_index,
                                            uint64_t* keys, uint64_t* bytes) {
  // Waiting here is harmless: S still serves every slot of the batch.
  if (!AcquireFreeze()) return Unavailable("driver stopping");
  const size_t all = kMaxSlotParallelism;
  Status s = ForEachSlot(c, all, [&](size_t i) {
    internal::FreezeSlot freeze;
    freeze.set_migration_id(c.migration.id());
    freeze.set_slot(c.slots[i]);
    return caller_->Unary(c.from, "Freeze", &Stub::Freeze, freeze).status();
  });
  AsOf as_of = after_index;
  Round r;
  if (s.ok()) s = BatchRound(c, all, &as_of, true, &r);
  ReleaseFreeze();
  SHARDKV_RETURN_IF_ERROR(s);
  if (!r.frozen) {
    return FailedPrecondition(Describe(c.migration) +
                              ": the source's final round was not frozen");
  }
  *keys += r.keys;
  *bytes += r.bytes;
  return Status::Ok();
}

Status MigrationRunner::ActivateAndRelease(const Context& c) {
  // Every slot at once: none is served until T activates it.
  SHARDKV_RETURN_IF_ERROR(ForEachSlot(c, kMaxSlotParallelism, [&](size_t i) {
    internal::ActivateSlot activate;
    activate.set_migration_id(c.migration.id());
    activate.set_slot(c.slots[i]);
    activate.set_epoch(c.map.epoch());
    return caller_->Unary(c.to, "Activate", &Stub::Activate, activate).status();
  }));
  // The target serves every slot, the source still holds their data.
  SHARDKV_FAILPOINT("migration.SWITCHED.after_activate");
  return ForEachSlot(c, [&](size_t i) {
    internal::ReleaseSlot release;
    release.set_migration_id(c.migration.id());
    release.set_slot(c.slots[i]);
    release.set_epoch(c.map.epoch());
    return caller_->Unary(c.from, "Release", &Stub::Release, release).status();
  });
}

Status MigrationRunner::Abort(const Context& c) {
  auto abort_on = [&](const v1::Shard& shard) {
    return ForEachSlot(c, [&](size_t i) {
      internal::AbortMigration abort;
      abort.set_migration_id(c.migration.id());
      abort.set_slot(c.slots[i]);
      abort.set_epoch(c.map.epoch());
      return caller_->Unary(shard, "Abort", &Stub::Abort, abort).status();
    });
  };
  SHARDKV_RETURN_IF_ERROR(abort_on(c.to));
  return abort_on(c.from);
}

Status MigrationRunner::CopyRound(const Context& c, uint32_t slot,
                                  uint64_t after_index, bool omit_sessions,
                                  Round* round) {
  internal::ExportSlotRequest request;
  request.set_migration_id(c.migration.id());
  request.set_slot(slot);
  request.set_after_index(after_index);
  request.set_max_chunk_bytes(kExportChunkBytes);
  request.set_omit_sessions(omit_sessions);
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
          // Nothing changed (or sessions omitted): no Raft entry for it.
          if (chunk.records_size() == 0 && chunk.sessions_size() == 0) {
            continue;
          }
          internal::ImportRecords import;
          import.set_migration_id(c.migration.id());
          import.set_slot(slot);
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
            << "migration " << c.migration.id() << " slot " << slot
            << " round of " << round->chunks << " chunks ended after "
            << MillisSince(started) << " ms: " << finished.error_message();
        return finished;
      },
      kRoundTimeout);
  if (!import_error.ok()) return import_error;
  return s;
}

}  // namespace shardkv::controller
