// MigrationRunner: carries one migration (one slot, or a batch of slots
// from the same source S to the same target T) through the protocol of
// docs/sharding.md, from the phase recorded in the map:
//
//   PREPARING  T.StartImport, then S.StartExport, of every slot -> COPYING
//   COPYING    copy rounds S.ExportSlot -> T.Import of every slot until a
//              round reports < kFreezeBelowChangedKeys changed keys over
//              the batch (a batch always runs a catch-up round after the
//              bulk round) or kMaxCopyRounds rounds ran    -> FREEZING
//   FREEZING   S.Freeze of every slot, then the final (frozen) round of
//              every slot, the sessions with one of them
//              -> slot_owner = T for every slot            -> SWITCHED
//   SWITCHED   T.Activate of every slot, then S.Release of every slot
//              -> removed from the map
//   cancelled (before FREEZING): T.Abort, S.Abort of every slot -> removed
//
// The node steps stay per slot (each idempotent per migration id and
// slot); within a phase they run on up to kMaxSlotParallelism threads (see
// kSlotCallBudget), so the
// shard's leader batches them into shared Raft entries. A phase is
// recorded only after its step succeeded for every slot.
//
// Each phase is recorded in the map (CAS) before it is acted on, and every
// node step is idempotent per migration id, so running a migration again
// from its recorded phase (after a failure or a controller failover) is
// always safe. Progress counters are stored at phase changes only.
//
// Thread-safety: one Run() per migration at a time (the driver ensures
// it); distinct migrations may run concurrently on one runner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "node/controller/map_store.h"
#include "node/controller/shard_caller.h"

namespace shardkv::controller {

inline constexpr uint64_t kFreezeBelowChangedKeys = 256;
inline constexpr int kMaxCopyRounds = 8;
inline constexpr uint64_t kExportChunkBytes = 1 << 20;
// Node calls of one migration in flight at once (one per slot): the
// budget shared by the migrations in flight, at least kMinSlotParallelism
// and at most kMaxSlotParallelism each. The more of a batch's commands
// reach the shard leader together, the fewer Raft entries they take (one
// commit for a whole step when the batch fits).
inline constexpr int kSlotCallBudget = 128;
inline constexpr int kMinSlotParallelism = 8;
inline constexpr int kMaxSlotParallelism = 64;
// Batches between S.Freeze and the end of their final rounds at once; such
// a batch runs those steps, and T.Activate, for all its slots at once
// (up to kMaxSlotParallelism): its slots are unavailable meanwhile, so
// they get the shards' attention before other batches' copies.
inline constexpr int kConcurrentFreezes = 2;

class MigrationRunner {
 public:
  MigrationRunner(SlotMapStore* store, ShardCaller* caller,
                  const std::atomic<bool>* stop)
      : store_(store), caller_(caller), stop_(stop) {}

  // Drives migration `id` until it leaves the map (OK), a step fails (the
  // error; run it again later), or `stop` is set.
  Status Run(uint64_t id);

 private:
  struct Round {
    uint64_t as_of_index = 0;
    uint64_t changed_keys = 0;
    uint64_t keys = 0;
    uint64_t bytes = 0;
    bool frozen = false;
    int chunks = 0;
  };
  struct Context {
    v1::SlotMap map;
    v1::Migration migration;
    std::vector<uint32_t> slots;
    size_t parallelism = kMinSlotParallelism;
    v1::Shard from;
    v1::Shard to;
  };
  // Per slot of the batch (same order as Context::slots): the last round's
  // image, 0 after a restart (the next round then copies everything).
  using AsOf = std::vector<uint64_t>;

  Status Prepare(const Context& c);
  // Copy rounds; on return the caller records FREEZING.
  Status Copy(const Context& c, AsOf* as_of, uint64_t* keys, uint64_t* bytes);
  Status FreezeAndFinalRound(const Context& c, const AsOf& as_of,
                             uint64_t* keys, uint64_t* bytes);
  Status ActivateAndRelease(const Context& c);
  Status Abort(const Context& c);
  // One round of the batch: a round of every slot; sums into *total.
  Status BatchRound(const Context& c, size_t width, AsOf* as_of,
                    bool final_round, Round* total);
  Status CopyRound(const Context& c, uint32_t slot, uint64_t after_index,
                   bool omit_sessions, Round* round);
  // Runs step(i) for every slot index i of the batch, c.parallelism at a
  // time; the first error (every step still runs once).
  Status ForEachSlot(const Context& c,
                     const std::function<Status(size_t)>& step) {
    return ForEachSlot(c, c.parallelism, step);
  }
  Status ForEachSlot(const Context& c, size_t width,
                     const std::function<Status(size_t)>& step);
  // Waits for one of kConcurrentFreezes places (false when stopping).
  bool AcquireFreeze();
  void ReleaseFreeze();

  SlotMapStore* const store_;
  ShardCaller* const caller_;
  const std::atomic<bool>* const stop_;
  std::mutex freeze_mu_;
  std::condition_variable freeze_cv_;
  int freezing_ = 0;  // GUARDED_BY(freeze_mu_)
};

}  // namespace shardkv::controller
