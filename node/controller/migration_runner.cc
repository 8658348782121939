#include "node/controller/migration_runner.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "node/controller/map_edits.h"

namespace shardkv::controller {
namespace {

using Clock = std::chrono::steady_clock;
using Stub = internal::ShardControl::Stub;

// A whole copy round is one stream (plus the imports it feeds).
constexpr std::chrono::milliseconds kRoundTimeout(600000);
// One import: a Raft entry of up to kExportChunkBytes on a loaded shard.
constexpr std::chrono::milliseconds kImportTimeout(15000);

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

// Imports a round's chunks on `width` threads while the caller reads the
// stream on: at most `width` imports run and one waits. The first failure
// stops the rest (a round is redone as a whole).
class ImportPipeline {
 public:
  using Import = std::function<Status(const internal::ImportRecords&)>;

  ImportPipeline(int width, Import import) : import_(std::move(import)) {
    for (int i = 0; i < width; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "ctl-mig-import");
        Work();
      });
    }
  }
  // Joins the threads; the error was the caller's to read from Finish().
  ~ImportPipeline() { static_cast<void>(Finish()); }

  // Blocks while an import waits already; false once one failed.
  bool Push(internal::ImportRecords import) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() || !error_.ok(); });
    if (!error_.ok()) return false;
    queue_.push_back(std::move(import));
    cv_.notify_all();
    return true;
  }

  // Waits for every import pushed; the first error.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  void Work() {
    while (true) {
      internal::ImportRecords import;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        import = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
        if (!error_.ok()) continue;  // drop what follows a failure
      }
      Status s = import_(import);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (error_.ok()) error_ = s;
        cv_.notify_all();
      }
    }
  }

  const Import import_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<internal::ImportRecords> queue_;  // GUARDED_BY(mu_)
  bool closed_ = false;                        // GUARDED_BY(mu_)
  Status error_;                               // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace

Status MigrationRunner::Run(uint64_t id) {
  Clock::time_point phase_start = Clock::now();
  uint64_t as_of = 0;  // the last round's image; 0 after a restart
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

template <typename Request>
Status MigrationRunner::Step(
    const Context& c, const v1::Shard& shard, const char* what,
    grpc::Status (ShardStub::*method)(grpc::ClientContext*, const Request&,
                                      internal::SlotStateResponse*),
    Request request) {
  request.set_migration_id(c.migration.id());
  request.set_slot(c.slots.front());
  if (c.slots.size() > 1) {
    request.mutable_slots()->Add(c.slots.begin(), c.slots.end());
  }
  auto answer = caller_->Unary(shard, what, method, request);
  if (!answer.ok()) return answer.status();
  if (c.slots.size() > 1 && answer->batch_slots() != c.slots.size()) {
    return FailedPrecondition(
        std::string(what) + " at shard " + std::to_string(shard.id()) +
        " covered " + std::to_string(answer->batch_slots()) + " of " +
        std::to_string(c.slots.size()) +
        " slots: the node predates batch commands; upgrade the shard's "
        "nodes (the migration resumes then)");
  }
  return Status::Ok();
}

Status MigrationRunner::Prepare(const Context& c) {
  // The batch importing on T before any slot is exported from S (as for
  // one slot: the target is ready before the source tracks changes).
  internal::BeginImport import;
  import.set_epoch(c.map.epoch());
  import.set_slot_count(c.map.slot_count());
  SHARDKV_RETURN_IF_ERROR(
      Step(c, c.to, "StartImport", &Stub::StartImport, import));
  internal::BeginExport export_;
  export_.set_epoch(c.map.epoch());
  return Step(c, c.from, "StartExport", &Stub::StartExport, export_);
}

Status MigrationRunner::Copy(const Context& c, uint64_t* as_of, uint64_t* keys,
                             uint64_t* bytes) {
  *as_of = 0;
  *keys = 0;
  *bytes = 0;
  for (int round = 0; round < kMaxCopyRounds && !stop_->load(); ++round) {
    Round r;
    SHARDKV_RETURN_IF_ERROR(CopyRound(c, *as_of, false, &r));
    if (r.chunks > 0) *as_of = r.as_of_index;
    *keys += r.keys;
    *bytes += r.bytes;
    // The bulk round of a batch takes long enough for many changes to pile
    // up: a catch-up round after it keeps the final (frozen) round short.
    bool bulk_of_batch = round == 0 && c.slots.size() > 1;
    if (r.changed_keys < kFreezeBelowChangedKeys && !bulk_of_batch) {
      return Status::Ok();
    }
  }
  return stop_->load() ? Unavailable("driver stopping") : Status::Ok();
}

Status MigrationRunner::FreezeAndFinalRound(const Context& c, uint64_t as_of,
                                            uint64_t* keys, uint64_t* bytes) {
  // Waiting here is harmless: S still serves every slot of the batch.
  if (!AcquireFreeze()) return Unavailable("driver stopping");
  // The other migrations' copy chunks wait meanwhile (imports already
  // sent finish): the frozen slots refuse clients until the switch, so
  // this round's Raft entries go first at the target.
  limiter_.PauseCopies();
  Clock::time_point frozen_at = Clock::now();
  Status s = Step(c, c.from, "Freeze", &Stub::Freeze, internal::FreezeSlot());
  Round r;
  if (s.ok()) s = CopyRound(c, as_of, true, &r);
  limiter_.ResumeCopies();
  ReleaseFreeze();
  SHARDKV_RETURN_IF_ERROR(s);
  if (!r.frozen) {
    return FailedPrecondition(Describe(c.migration) +
                              ": the source's final round was not frozen");
  }
  SHARDKV_LOG(kInfo) << Describe(c.migration) << ": freeze + final round "
                     << MillisSince(frozen_at) << " ms (" << r.keys << " keys)";
  *keys += r.keys;
  *bytes += r.bytes;
  return Status::Ok();
}

Status MigrationRunner::ActivateAndRelease(const Context& c) {
  internal::ActivateSlot activate;
  activate.set_epoch(c.map.epoch());
  SHARDKV_RETURN_IF_ERROR(Step(c, c.to, "Activate", &Stub::Activate, activate));
  // The target serves every slot, the source still holds their data.
  SHARDKV_FAILPOINT("migration.SWITCHED.after_activate");
  internal::ReleaseSlot release;
  release.set_epoch(c.map.epoch());
  return Step(c, c.from, "Release", &Stub::Release, release);
}

Status MigrationRunner::Abort(const Context& c) {
  internal::AbortMigration abort;
  abort.set_epoch(c.map.epoch());
  SHARDKV_RETURN_IF_ERROR(Step(c, c.to, "Abort", &Stub::Abort, abort));
  return Step(c, c.from, "Abort", &Stub::Abort, abort);
}

Status MigrationRunner::CopyRound(const Context& c, uint64_t after_index,
                                  bool final_round, Round* round) {
  internal::ExportSlotRequest request;
  request.set_migration_id(c.migration.id());
  request.set_slot(c.slots.front());
  if (c.slots.size() > 1) {
    request.mutable_slots()->Add(c.slots.begin(), c.slots.end());
  }
  request.set_after_index(after_index);
  request.set_max_chunk_bytes(kExportChunkBytes);
  auto import_one = [&](const internal::ImportRecords& import) {
    return caller_->Unary(c.to, "Import", &Stub::Import, import, kImportTimeout)
        .status();
  };
  Status import_error;
  Clock::time_point started = Clock::now();
  Status s = caller_->Call(
      c.from, "ExportSlot",
      [&](Stub* stub, grpc::ClientContext* context) {
        *round = Round{};  // a retried attempt starts the round again
        started = Clock::now();
        // Drained before this attempt returns: a retried round's imports
        // never race the imports of the attempt before it.
        ImportPipeline pipeline(kImportsInFlight, import_one);
        auto reader = stub->ExportSlot(context, request);
        internal::ExportChunk chunk;
        bool pushed_all = true;
        while (reader->Read(&chunk)) {
          if (round->chunks++ == 0) {
            round->changed_keys = chunk.changed_keys();
            if (c.slots.size() > 1 && chunk.batch_slots() != c.slots.size()) {
              import_error = FailedPrecondition(
                  "the source's node predates batch exports; upgrade it");
              pushed_all = false;
              break;
            }
          }
          round->as_of_index = chunk.as_of_index();
          round->frozen = chunk.frozen();
          // Nothing changed: no Raft entry for it.
          if (chunk.records_size() == 0 && chunk.sessions_size() == 0) {
            continue;
          }
          internal::ImportRecords import;
          import.set_migration_id(c.migration.id());
          import.set_slot(c.slots.front());
          if (c.slots.size() > 1) {
            import.mutable_slots()->Add(c.slots.begin(), c.slots.end());
          }
          uint64_t chunk_bytes = 0;
          for (const internal::SlotRecord& record : chunk.records()) {
            chunk_bytes += record.key().size() + record.value().size();
          }
          round->bytes += chunk_bytes;
          round->keys += chunk.records_size();
          ++round->imports;
          *import.mutable_records() = std::move(*chunk.mutable_records());
          *import.mutable_sessions() = std::move(*chunk.mutable_sessions());
          if ((!final_round && !limiter_.Acquire(chunk_bytes, stop_)) ||
              !pipeline.Push(std::move(import))) {
            pushed_all = false;
            break;
          }
        }
        Status imported = pipeline.Finish();
        if (!imported.ok()) import_error = imported;
        if (!pushed_all || !imported.ok()) {
          if (import_error.ok()) import_error = Unavailable("driver stopping");
          context->TryCancel();
          reader->Finish();
          return grpc::Status(grpc::StatusCode::ABORTED, "import failed");
        }
        return reader->Finish();
      },
      kRoundTimeout);
  if (!import_error.ok()) return import_error;
  SHARDKV_RETURN_IF_ERROR(s);
  const int64_t ms = std::max<int64_t>(1, MillisSince(started));
  SHARDKV_LOG(kInfo) << Describe(c.migration)
                     << (final_round ? " final round" : " round") << " after "
                     << after_index << ": " << round->keys << " keys, "
                     << round->bytes << " bytes in " << round->imports
                     << " imports, " << ms << " ms ("
                     << round->bytes / 1000 / ms << " MB/s); "
                     << round->changed_keys << " changed keys";
  return Status::Ok();
}

}  // namespace shardkv::controller
