// shardkv::orchestration::Orchestrator — the cluster workflows, written once
// for every backend (docs/sharding.md "Orchestration"):
//
//   scale-out:  create -> wait-ready -> join -> rebalance -> wait-balanced
//   scale-in:   drain -> wait-drained -> remove -> delete
//               (wait-drained -> cancel when cancelled: CancelDrain)
//   replace-replica: create -> add-learner -> catch-up -> promote ->
//               remove-old -> delete-old -> update-map
//   rolling-upgrade: per shard plan, then per replica to upgrade
//               move-leader -> restart -> wait-ready
//
// Each step is recorded in the IntentStore ({workflow, step, params})
// BEFORE it runs, and every step is idempotent (it looks at the map or the
// shard's membership before acting), so running the recorded step again
// after a crash at any point is safe: Resume() does exactly that.
//
// Not thread-safe: one thread runs one workflow at a time; the callbacks in
// WorkflowOptions are called on that thread (cancel_requested may read
// state other threads set, e.g. an atomic flag).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "orchestration/controller_api.h"
#include "orchestration/infrastructure.h"
#include "orchestration/intent_store.h"
#include "orchestration/shard_admin.h"

namespace shardkv::orchestration {

inline constexpr char kScaleOut[] = "scale-out";
inline constexpr char kScaleIn[] = "scale-in";
inline constexpr char kReplaceReplica[] = "replace-replica";
inline constexpr char kRollingUpgrade[] = "rolling-upgrade";

struct Progress {
  std::string workflow;
  std::string step;
  // Slot moves finished since the workflow began, and the moves it needs
  // (at least slots_moved + the migrations in flight; 0 = not known yet).
  uint64_t slots_moved = 0;
  uint64_t slots_total = 0;
  uint64_t bytes_moved = 0;
  uint64_t in_flight = 0;  // migrations running now
};

struct WorkflowOptions {
  std::chrono::milliseconds shard_ready_timeout{120'000};
  // Bound on waiting for the map (rebalancing, draining).
  std::chrono::milliseconds map_timeout{3'600'000};
  std::chrono::milliseconds poll_interval{200};
  // A learner counts as caught up within this many entries of the commit.
  uint64_t catch_up_lag = 64;
  std::function<void(const Progress&)> on_progress;
  // Polled while a scale-in waits for its shards to drain: true cancels the
  // scale-in (CancelDrain). Never consulted once RemoveShard may have run.
  std::function<bool()> cancel_requested;
  // Polled between steps and while waiting: true stops the workflow where
  // it is with ABORTED (the process is shutting down); the intent stays
  // recorded and Resume() continues later.
  std::function<bool()> abort_requested;
};

class Orchestrator {
 public:
  Orchestrator(Infrastructure& infrastructure, ControllerApi& controller,
               ShardAdmin& admin, IntentStore& intents,
               WorkflowOptions options = {});

  // Adds `shards` (new, non-zero ids) and rebalances onto them. On an empty
  // cluster this is the bootstrap: the first rebalance assigns every slot.
  // FAILED_PRECONDITION while another workflow is recorded (Resume first).
  Status ScaleOut(const std::vector<ShardId>& shards);

  // Drains `shards`, removes them from the map and deletes their replicas.
  // CANCELLED when cancel_requested stopped it (the shards stay, ACTIVE).
  // FAILED_PRECONDITION if no ACTIVE shard would be left.
  Status ScaleIn(const std::vector<ShardId>& shards);

  // Replaces replica `old_replica` of `shard` by a new identity (the next
  // unused Raft id, empty data): learner -> caught up -> voter -> the old
  // one removed and deleted -> the map's members updated.
  Status ReplaceReplica(ShardId shard, ReplicaId old_replica);

  // Restarts, one at a time, the replicas of `shards` that do not run the
  // current version (Infrastructure::ReplicasToUpgrade, asked when a shard's
  // turn comes): the shard must be ready first; leadership is moved off a
  // replica before it restarts; the shard is ready again before the next.
  // A crash between a restart and its wait may restart that replica again.
  // Shard id 0 names the controller group, for an Infrastructure whose
  // ReplicasToUpgrade, RestartReplica and WaitShardReady take it. A group
  // of one voter restarts without a successor (unavoidably unavailable
  // meanwhile).
  Status RollingUpgrade(const std::vector<ShardId>& shards);

  // Runs the recorded workflow from its recorded step to the end; OK when
  // nothing is recorded.
  Status Resume();

 private:
  using Step = StatusOr<Intent> (Orchestrator::*)(const Intent&);

  Status Start(const Intent& first);
  // Saves `intent`, runs its step, continues with the next one until a step
  // returns an intent without a step.
  Status Run(Intent intent);
  Step Lookup(const std::string& workflow, const std::string& step) const;
  void Report(const Intent& intent, const v1::SlotMap* map);
  bool Aborting() const;
  // WaitOptions for a wait on the map; `cancellable` also stops it when
  // cancel_requested says so (CANCELLED; Aborting() tells the two apart).
  WaitOptions MapWait(const Intent& intent, bool cancellable);

  // scale_steps.cc
  StatusOr<Intent> OutCreate(const Intent& in);
  StatusOr<Intent> OutWaitReady(const Intent& in);
  StatusOr<Intent> OutJoin(const Intent& in);
  StatusOr<Intent> OutRebalance(const Intent& in);
  StatusOr<Intent> OutWaitBalanced(const Intent& in);
  StatusOr<Intent> InDrain(const Intent& in);
  StatusOr<Intent> InWaitDrained(const Intent& in);
  StatusOr<Intent> InCancel(const Intent& in);
  StatusOr<Intent> InRemove(const Intent& in);
  StatusOr<Intent> InDelete(const Intent& in);

  // replace_replica_steps.cc
  StatusOr<Intent> RrCreate(const Intent& in);
  StatusOr<Intent> RrAddLearner(const Intent& in);
  StatusOr<Intent> RrCatchUp(const Intent& in);
  StatusOr<Intent> RrPromote(const Intent& in);
  StatusOr<Intent> RrRemoveOld(const Intent& in);
  StatusOr<Intent> RrDeleteOld(const Intent& in);
  StatusOr<Intent> RrUpdateMap(const Intent& in);

  // upgrade_steps.cc
  StatusOr<Intent> UpPlan(const Intent& in);
  StatusOr<Intent> UpMoveLeader(const Intent& in);
  StatusOr<Intent> UpRestart(const Intent& in);
  StatusOr<Intent> UpWaitReady(const Intent& in);

  Infrastructure& infrastructure_;
  ControllerApi& controller_;
  ShardAdmin& admin_;
  IntentStore& intents_;
  const WorkflowOptions options_;
  bool cancelled_ = false;  // the last Run ended by cancellation
};

// "4,5" <-> {4, 5}: how shard lists are kept in intent params.
std::string FormatIds(const std::vector<ShardId>& ids);
StatusOr<std::vector<ShardId>> ParseIds(const std::string& text);

}  // namespace shardkv::orchestration
