// MigrationRunner: carries one migration (one slot, or a batch of slots
// from the same source S to the same target T) through the protocol of
// docs/sharding.md, from the phase recorded in the map:
//
//   PREPARING  T.StartImport, then S.StartExport, of the batch -> COPYING
//   COPYING    copy rounds S.ExportSlot -> T.Import over the batch until
//              a round reports < kFreezeBelowChangedKeys changed keys (a
//              batch always runs a catch-up round after the bulk round)
//              or kMaxCopyRounds rounds ran               -> FREEZING
//   FREEZING   S.Freeze of the batch, then its final (frozen) round, with
//              the sessions -> slot_owner = T for every slot -> SWITCHED
//   SWITCHED   T.Activate, then S.Release, of the batch -> removed
//   cancelled (before FREEZING): T.Abort, S.Abort of the batch -> removed
//
// Every node step is ONE command for the whole batch (`slots`: one Raft
// entry), idempotent per migration id and slot. A round is one export
// stream over the batch from one image of S; its chunks (kExportChunkBytes
// each, one Raft entry on T) are imported kImportsInFlight at a time (the
// keys of one round's chunks are disjoint, so their order does not
// matter), at most `copy_bytes_per_second` over all migrations (the
// frozen final round is not limited, and while a batch is frozen the other
// migrations' copy chunks wait). A phase is recorded only after its
// step succeeded for the whole batch.
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
#include <mutex>
#include <vector>

#include "common/status.h"
#include "node/controller/copy_rate_limiter.h"
#include "node/controller/map_store.h"
#include "node/controller/shard_caller.h"

namespace shardkv::controller {

inline constexpr uint64_t kFreezeBelowChangedKeys = 256;
inline constexpr int kMaxCopyRounds = 8;
// One import = one Raft entry on the target: large enough that the per
// entry cost (a commit, an fsync per replica) is small per byte, small
// enough for the nodes' 16 MiB message limit and not to hold the target's
// log for long (clients' writes wait behind it).
inline constexpr uint64_t kExportChunkBytes = 2 << 20;
// Imports of one round in flight while the stream reads on.
inline constexpr int kImportsInFlight = 2;
// Default copy rate over all migrations of a controller (bytes/s).
inline constexpr uint64_t kDefaultCopyBytesPerSecond = 64ull << 20;
// Batches between S.Freeze and the end of their final rounds at once (the
// others' slots stay served meanwhile).
inline constexpr int kConcurrentFreezes = 2;

class MigrationRunner {
 public:
  MigrationRunner(SlotMapStore* store, ShardCaller* caller,
                  const std::atomic<bool>* stop,
                  uint64_t copy_bytes_per_second = kDefaultCopyBytesPerSecond)
      : store_(store),
        caller_(caller),
        stop_(stop),
        limiter_(copy_bytes_per_second) {}

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
    int imports = 0;
  };
  struct Context {
    v1::SlotMap map;
    v1::Migration migration;
    std::vector<uint32_t> slots;
    v1::Shard from;
    v1::Shard to;
  };

  Status Prepare(const Context& c);
  // Copy rounds; *as_of is the last round's image. On return the caller
  // records FREEZING.
  Status Copy(const Context& c, uint64_t* as_of, uint64_t* keys,
              uint64_t* bytes);
  // as_of: the last copy round's image, 0 after a restart (the final
  // round then copies everything).
  Status FreezeAndFinalRound(const Context& c, uint64_t as_of, uint64_t* keys,
                             uint64_t* bytes);
  Status ActivateAndRelease(const Context& c);
  Status Abort(const Context& c);
  // One round over the batch: every change after `after_index` (all of it
  // for 0). The final round is not rate limited.
  Status CopyRound(const Context& c, uint64_t after_index, bool final_round,
                   Round* round);
  // One batch command at `shard`; checks that the node covered the whole
  // batch (an older node ignores `slots`).
  template <typename Request>
  Status Step(const Context& c, const v1::Shard& shard, const char* what,
              grpc::Status (ShardStub::*method)(grpc::ClientContext*,
                                                const Request&,
                                                internal::SlotStateResponse*),
              Request request);
  // Waits for one of kConcurrentFreezes places (false when stopping).
  bool AcquireFreeze();
  void ReleaseFreeze();

  SlotMapStore* const store_;
  ShardCaller* const caller_;
  const std::atomic<bool>* const stop_;
  CopyRateLimiter limiter_;
  std::mutex freeze_mu_;
  std::condition_variable freeze_cv_;
  int freezing_ = 0;  // GUARDED_BY(freeze_mu_)
};

}  // namespace shardkv::controller
