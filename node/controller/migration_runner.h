// MigrationRunner: carries one migration through the protocol of
// docs/sharding.md, from the phase recorded in the map:
//
//   PREPARING  T.StartImport, S.StartExport                    -> COPYING
//   COPYING    copy rounds S.ExportSlot -> T.Import until a round
//              reports < kFreezeBelowChangedKeys changed keys or
//              kMaxCopyRounds rounds ran                       -> FREEZING
//   FREEZING   S.Freeze, the final (frozen) round with sessions
//              -> slot_owner = T                               -> SWITCHED
//   SWITCHED   T.Activate, S.Release       -> removed from the map
//   cancelled (before FREEZING): T.Abort, S.Abort -> removed
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
#include <cstdint>

#include "common/status.h"
#include "node/controller/map_store.h"
#include "node/controller/shard_caller.h"

namespace shardkv::controller {

inline constexpr uint64_t kFreezeBelowChangedKeys = 256;
inline constexpr int kMaxCopyRounds = 8;
inline constexpr uint64_t kExportChunkBytes = 1 << 20;

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
    v1::Shard from;
    v1::Shard to;
  };

  Status Prepare(const Context& c);
  // Copy rounds; on return the caller records FREEZING.
  Status Copy(const Context& c, uint64_t* as_of, uint64_t* keys,
              uint64_t* bytes);
  Status FreezeAndFinalRound(const Context& c, uint64_t after_index,
                             uint64_t* keys, uint64_t* bytes);
  Status ActivateAndRelease(const Context& c);
  Status Abort(const Context& c);
  Status CopyRound(const Context& c, uint64_t after_index, Round* round);

  SlotMapStore* const store_;
  ShardCaller* const caller_;
  const std::atomic<bool>* const stop_;
};

}  // namespace shardkv::controller
