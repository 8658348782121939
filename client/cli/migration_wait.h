// Waiting for slot migrations to finish while showing their progress:
// used by `rebalance --wait`, `shard drain --wait`, `slot move --wait` and
// the playground's scale command. The map comes from a WatchMap stream
// (map_watcher.h), with a GetMap every couple of seconds as a fallback, so
// progress shows within milliseconds of each change and a stream broken by
// a controller failover does not stall the display.
//
// Blocks the calling thread; owns the watcher thread while it runs.
#pragma once

#include <cstdint>
#include <functional>

#include "client/cli/progress_bar.h"
#include "client/controller_client.h"
#include "common/status.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::cli {

// Progress since `base` (a map taken when the operation started): slots
// moved since, bytes moved since plus what in-flight copies have copied.
Progress MigrationProgress(const v1::SlotMap& base, const v1::SlotMap& now,
                           uint64_t total_slots);

// True when no migration is in flight and rebalancing has finished.
bool MigrationsSettled(const v1::SlotMap& map);

// Waits until `done(map)` holds for a map at least as new as `base`,
// drawing progress on `bar` (may be null). Returns that map. Gives up with
// kDeadlineExceeded after `timeout` (0 = no limit) and kUnavailable when
// the controller stays unreachable for `unreachable_limit`.
StatusOr<v1::SlotMap> WaitForMigrations(
    client::ControllerClient& controller, const v1::SlotMap& base,
    uint64_t total_slots, const std::function<bool(const v1::SlotMap&)>& done,
    ProgressBar* bar,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
    std::chrono::milliseconds unreachable_limit = std::chrono::seconds(60));

}  // namespace shardkv::cli
