#include "node/controller/migration_driver.h"

#include <pthread.h>

#include <future>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "node/controller/map_edits.h"

namespace shardkv::controller {
namespace {

using Clock = std::chrono::steady_clock;

void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

ShardCaller::Options AssignOptions() {
  ShardCaller::Options options;
  options.attempt_timeout = std::chrono::milliseconds(1000);
  options.call_timeout = std::chrono::milliseconds(2000);
  return options;
}

}  // namespace

MigrationDriver::MigrationDriver(server::Replica* replica, SlotMapStore* store,
                                 uint32_t slot_count,
                                 uint64_t copy_bytes_per_second)
    : replica_(replica),
      store_(store),
      slot_count_(slot_count),
      caller_(&workers_stop_),
      assign_caller_(&stopping_, AssignOptions()),
      runner_(store, &caller_, &workers_stop_, copy_bytes_per_second) {}

MigrationDriver::~MigrationDriver() { Stop(); }

void MigrationDriver::Start() {
  coordinator_ = std::thread([this] {
    NameThisThread("ctl-driver");
    CoordinatorLoop();
  });
}

void MigrationDriver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  pass_cv_.notify_all();
  if (coordinator_.joinable()) coordinator_.join();
  StopWorkers();
}

void MigrationDriver::CoordinatorLoop() {
  while (!stopping_.load()) {
    bool leader = replica_->IsLeader();
    if (leader && workers_.empty()) {
      SHARDKV_LOG(kInfo) << "controller: leading; migration driver starts";
      StartWorkers();
    } else if (!leader && !workers_.empty()) {
      SHARDKV_LOG(kInfo) << "controller: not leading; migration driver stops";
      StopWorkers();
    }
    if (leader) LeaderPass();
    std::unique_lock<std::mutex> lock(mu_);
    pass_cv_.wait_for(lock, kPassInterval,
                      [this] { return pass_wanted_ || stopping_.load(); });
    pass_wanted_ = false;
  }
}

Status MigrationDriver::CreateMapIfAbsent() {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  store_->CreateIfAbsent(slot_count_, [promise](StatusOr<v1::SlotMap> r) {
    promise->set_value(r.status());
  });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "creating the slot map timed out");
  }
  return future.get();
}

void MigrationDriver::LeaderPass() {
  auto stored = store_->ReadBlocking();
  if (!stored.ok()) return;  // lost leadership or no quorum: next pass
  if (!stored->exists) {
    Status s = CreateMapIfAbsent();
    if (s.ok()) {
      SHARDKV_LOG(kInfo) << "controller: created the slot map with "
                         << slot_count_ << " slots";
    }
    return;
  }
  const v1::SlotMap& map = stored->map;
  if (!map.pending_assignments().empty()) SendPendingAssignments(map);
  if (map.rebalancing() && map.pending_assignments().empty()) {
    int64_t now = WallClockMs();
    auto updated = store_->UpdateBlocking(
        [now](v1::SlotMap* m) { return StartPlannedMoves(now, m); });
    if (!updated.ok()) {
      SHARDKV_LOG(kWarning) << "controller: starting planned moves: "
                            << updated.status().ToString();
      return;
    }
    if (!updated->rebalancing()) {
      SHARDKV_LOG(kInfo) << "controller: nothing more to plan at epoch "
                         << updated->epoch() << "; rebalancing cleared ("
                         << updated->migrations_size()
                         << " migrations finishing)";
    }
    Dispatch(*updated);
    return;
  }
  Dispatch(map);
}

void MigrationDriver::SendPendingAssignments(const v1::SlotMap& map) {
  for (const v1::PendingAssignment& p : map.pending_assignments()) {
    const v1::Shard* shard = FindShard(map, p.shard_id());
    if (shard == nullptr) continue;
    internal::AssignSlots assign;
    assign.set_epoch(map.epoch());
    assign.set_slot_count(map.slot_count());
    *assign.mutable_slots() = p.slots();
    auto r = assign_caller_.Unary(
        *shard, "Assign", &internal::ShardControl::Stub::Assign, assign);
    if (!r.ok()) {
      SHARDKV_LOG(kWarning)
          << "controller: assigning " << p.slots_size() << " slots to shard "
          << p.shard_id() << ": " << r.status().ToString();
      continue;
    }
    std::vector<uint32_t> slots(p.slots().begin(), p.slots().end());
    uint32_t id = p.shard_id();
    auto confirmed = store_->UpdateBlocking([id, &slots](v1::SlotMap* m) {
      return ConfirmAssignment(id, slots, m);
    });
    if (confirmed.ok()) {
      SHARDKV_LOG(kInfo) << "controller: shard " << id << " took "
                         << slots.size() << " unassigned slots";
    }
  }
}

void MigrationDriver::Dispatch(const v1::SlotMap& map) {
  std::lock_guard<std::mutex> lock(mu_);
  Clock::time_point now = Clock::now();
  bool added = false;
  for (const v1::Migration& m : map.migrations()) {
    if (taken_.count(m.id())) continue;
    auto retry = retry_after_.find(m.id());
    if (retry != retry_after_.end() && retry->second > now) continue;
    taken_.insert(m.id());
    queue_.push_back(m.id());
    added = true;
  }
  if (added) cv_.notify_all();
}

void MigrationDriver::StartWorkers() {
  workers_stop_ = false;
  for (int i = 0; i < kWorkers; ++i) {
    workers_.emplace_back([this, i] {
      NameThisThread("ctl-mig-" + std::to_string(i));
      WorkerLoop();
    });
  }
}

void MigrationDriver::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers_stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
  taken_.clear();
  retry_after_.clear();
}

void MigrationDriver::WorkerLoop() {
  while (true) {
    uint64_t id = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return workers_stop_.load() || !queue_.empty(); });
      if (workers_stop_.load()) return;
      id = queue_.front();
      queue_.pop_front();
    }
    Status s = runner_.Run(id);
    std::lock_guard<std::mutex> lock(mu_);
    taken_.erase(id);
    if (s.ok()) {
      retry_after_.erase(id);
      pass_wanted_ = true;
      pass_cv_.notify_one();
    } else if (!workers_stop_.load()) {
      SHARDKV_LOG(kWarning)
          << "controller: migration " << id << " paused, retrying in "
          << kRetryBackoff.count() << " ms: " << s.ToString();
      retry_after_[id] = Clock::now() + kRetryBackoff;
    }
  }
}

}  // namespace shardkv::controller
