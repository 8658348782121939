#include "client/cli/migration_wait.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "client/map_watcher.h"
#include "client/slot_map_cache.h"

namespace shardkv::cli {

using client::Clock;

Progress MigrationProgress(const v1::SlotMap& base, const v1::SlotMap& now,
                           uint64_t total_slots) {
  Progress p;
  uint64_t moved = now.totals().slots_moved();
  p.done = moved > base.totals().slots_moved()
               ? moved - base.totals().slots_moved()
               : 0;
  p.total = total_slots;
  uint64_t bytes = now.totals().bytes_moved();
  p.bytes = bytes > base.totals().bytes_moved()
                ? bytes - base.totals().bytes_moved()
                : 0;
  p.in_flight = 0;
  for (const v1::Migration& m : now.migrations()) {
    p.bytes += m.bytes_copied();
    // Slots in flight: a migration moves a batch (`slots`; only `slot` in
    // one written before batches).
    p.in_flight += std::max(1, m.slots_size());
  }
  return p;
}

bool MigrationsSettled(const v1::SlotMap& map) {
  return map.migrations_size() == 0 && !map.rebalancing();
}

StatusOr<v1::SlotMap> WaitForMigrations(
    client::ControllerClient& controller, const v1::SlotMap& base,
    uint64_t total_slots, const std::function<bool(const v1::SlotMap&)>& done,
    ProgressBar* bar, std::chrono::milliseconds timeout,
    std::chrono::milliseconds unreachable_limit) {
  client::SlotMapCache cache;
  cache.Offer(base);
  std::mutex mu;
  std::condition_variable changed;
  client::MapWatcher watcher(controller.endpoints(), cache,
                             controller.options().retry,
                             [&](const v1::SlotMap&) { changed.notify_all(); });
  Clock::time_point start = Clock::now();
  Clock::time_point last_heard = start;
  Clock::time_point next_poll = start + std::chrono::seconds(2);
  for (;;) {
    std::shared_ptr<const v1::SlotMap> map = cache.Current();
    Progress p = MigrationProgress(base, *map, total_slots);
    Clock::time_point now = Clock::now();
    if (now >= next_poll) {
      next_poll = now + std::chrono::seconds(2);
      auto polled = controller.GetMap(now + std::chrono::seconds(2));
      if (polled.ok()) {
        cache.Offer(*polled);
        last_heard = Clock::now();
        continue;
      }
      p.note = "controller unreachable";
      if (now - last_heard > unreachable_limit) {
        if (bar) bar->Finish(p);
        return Unavailable("lost the controller: " +
                           polled.status().ToString());
      }
    }
    if (done(*map)) {
      if (bar) bar->Finish(p);
      return *map;
    }
    if (timeout.count() > 0 && now - start > timeout) {
      if (bar) bar->Finish(p);
      return Status(Code::kDeadlineExceeded,
                    "still migrating after the timeout");
    }
    if (bar) bar->Update(p);
    std::unique_lock<std::mutex> lock(mu);
    changed.wait_for(lock, std::chrono::milliseconds(250));
  }
}

}  // namespace shardkv::cli
