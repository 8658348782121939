// FaultInjector: the faults of the chaos suite, chosen by a seed and
// applied to a ShardedCluster while traffic runs.
//
// A fault is injected, held for a while (the caller sleeps), then healed;
// operations (transfers, slot moves, scaling, replica replacement) run to
// completion inside Inject. Every choice comes from the seeded generator,
// so a seed replays the same schedule (timing still varies).
//
// Thread-safety: driven by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/harness/sharded_cluster.h"

namespace shardkv::test {

enum class FaultKind {
  kKill,        // kill -9 any replica (controller included)
  kKillLeader,  // kill -9 a shard leader or the controller leader
  kPause,       // SIGSTOP longer than the election timeout
  kPartition,   // a replica cut off from its group, both ways
  kOneWay,      // a replica's outgoing peer links dropped
  kDiskFull,    // a shard replica's tmpfs data dir filled up
  kTransfer,    // leadership transfer in a shard
  kMoveSlot,    // one slot (often a hot key's) moved to another shard
  kScaleOut,    // a new shard started, joined, rebalanced
  kScaleIn,     // a shard drained, removed and stopped
  kReplace,     // a replica's disk lost: new identity joins, old removed
};

const char* FaultName(FaultKind kind);
// "all" or a comma-separated list of names (kill,kill-leader,...).
StatusOr<std::vector<FaultKind>> ParseFaults(const std::string& list);

class FaultInjector {
 public:
  FaultInjector(ShardedCluster* cluster, uint64_t seed,
                std::vector<FaultKind> kinds, std::vector<std::string> hot_keys,
                int min_shards, int max_shards);

  // Picks and applies one fault; returns a description. Faults that need
  // healing are remembered until Heal().
  StatusOr<std::string> InjectOne();
  // Undoes every held fault: links pass, paused nodes resume, disks are
  // freed, dead nodes restart, replacements left half-way finish. A
  // replacement that cannot finish yet (e.g. leadership moved while it
  // promoted) stays pending for the next heal; only the `last` heal of a run
  // reports it as an error (the shard would stay a voter short).
  Status Heal(bool last = false);
  // Restarts every node (not retired) that exited at a failpoint, as a
  // supervisor would; the chaos driver runs it on every harness poll.
  void RestartFailpointCrashes();
  // Restarts every node (not retired), one at a time, clean stop first, so
  // each picks up the environment as it is now: the driver arms failpoints
  // this way once the cluster is up, and disarms them before the final
  // checks (so the cluster settles instead of crashing on). Heal first.
  Status RestartEveryNode();

  uint64_t injected() const { return injected_; }
  // Nodes that crashed at a failpoint (planned) and were restarted.
  uint64_t failpoint_crashes() const { return failpoint_crashes_; }
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  struct Victim {
    ShardCluster* group = nullptr;
    NodeId id = 0;
    std::string label;  // "controller" or "shard K"
  };
  std::vector<Victim> RunningReplicas(bool shards_only);
  StatusOr<Victim> LeaderVictim();
  StatusOr<std::string> Apply(FaultKind kind);
  StatusOr<std::string> MoveSlot();
  StatusOr<std::string> ScaleOut();
  StatusOr<std::string> ScaleIn();
  StatusOr<std::string> Replace();
  // Runs `fn` on the controller group and every shard's; stops at the
  // first error.
  Status ForEachGroup(const std::function<Status(ShardCluster&)>& fn);
  // A replacement whose old replica is gone but whose new one is not yet a
  // voter (a step failed, e.g. no leader at that moment).
  struct PendingReplace {
    uint32_t shard = 0;
    NodeId old_id = 0;
    NodeId new_id = 0;
    std::vector<NodeId> voters;  // the members when it began
  };
  Status FinishReplace(const PendingReplace& r, milliseconds budget);
  // Finishes every unfinished replacement (after the faults are healed);
  // an error when one still cannot finish: the shard stays a voter short.
  Status FinishReplacements(bool last);
  // An admin client for the members `group` has now (not retired).
  StatusOr<std::unique_ptr<client::AdminClient>> CurrentAdmin(
      ShardCluster& group) const;
  // Whether `group` has a fault held (dead, paused, cut off, full disk).
  bool Degraded(const ShardCluster* group) const;

  ShardedCluster* const cluster_;
  std::mt19937_64 rng_;
  const std::vector<FaultKind> kinds_;
  const std::vector<std::string> hot_keys_;
  const int min_shards_;
  const int max_shards_;
  uint32_t next_shard_id_ = 0;
  std::map<uint32_t, NodeId> next_replica_id_;  // per shard
  std::vector<Victim> dead_;
  std::vector<Victim> paused_;
  std::vector<Victim> full_disks_;
  std::set<ShardCluster*> cut_groups_;
  // Old identities of replaced replicas: stopped for good.
  std::set<std::pair<ShardCluster*, NodeId>> retired_;
  std::vector<PendingReplace> unfinished_replaces_;
  uint64_t injected_ = 0;
  uint64_t failpoint_crashes_ = 0;
  std::map<std::string, uint64_t> counts_;
};

}  // namespace shardkv::test
