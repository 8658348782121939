// State shared by the StateMachine and its snapshot sinks. Internal to
// node/storage.
//
// Thread-safety: `write_mu` serializes every writer of the data, sessions
// and meta column families (apply, reclaim, snapshot install), so a
// read-modify-write never races another; it also guards `apply_cache`,
// which every such writer keeps exact (apply_cache.h). `mu` guards the cached
// applied state, read by any thread. `slots_mu` guards the slot table.
#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>

#include "node/storage/apply_cache.h"
#include "node/storage/engine.h"
#include "node/storage/slots.h"
#include "node/storage/state_machine.h"

namespace shardkv::storage {

struct StateMachineCore {
  StateMachineCore(Engine* e, size_t max_cached_records,
                   size_t max_cached_sessions)
      : engine(e), apply_cache(max_cached_records, max_cached_sessions) {}

  AppliedState applied() const {
    std::lock_guard<std::mutex> lock(mu);
    return applied_state;
  }
  void set_applied(const AppliedState& state) {
    std::lock_guard<std::mutex> lock(mu);
    applied_state = state;
  }

  Engine* const engine;
  std::mutex write_mu;
  std::string reclaim_cursor;  // GUARDED_BY(write_mu)
  ApplyCache apply_cache;      // GUARDED_BY(write_mu)
  mutable std::mutex mu;
  AppliedState applied_state;  // GUARDED_BY(mu)
  // Written with write_mu held too (so writers may read it without this
  // lock). Writers that change it hold it exclusively across the RocksDB
  // write, so a reader holding it shared checks a slot and reads its data
  // at one applied state.
  mutable std::shared_mutex slots_mu;
  SlotTable slots;  // GUARDED_BY(slots_mu)
};

// Reloads core->slots from the database. REQUIRES: write_mu held.
Status ReloadSlots(StateMachineCore* core);

// Directory of an install in progress (under the engine's directory).
std::string InstallDir(const Engine& engine);
// Removes what an interrupted install left behind.
Status RemoveInterruptedInstall(const Engine& engine);

std::unique_ptr<SnapshotSource> NewSnapshotSource(Engine* engine);
std::unique_ptr<SnapshotSink> NewSnapshotSink(StateMachineCore* core);

}  // namespace shardkv::storage
