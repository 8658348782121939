// shardkv::orchestration::Infrastructure — what a backend (local processes
// for the playground, StatefulSets/PVCs for the Kubernetes operator) does
// for the workflows (workflows.h): create and delete a shard's replicas,
// wait until a shard is ready, create and delete single replicas, restart
// replicas for a rolling upgrade.
//
// Every call is idempotent, because a workflow that crashed redoes its
// current step: creating what exists keeps it (and reports it), deleting
// what is gone succeeds. Implementations say their own thread-safety; the
// workflows call one method at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::orchestration {

using ShardId = uint32_t;
using ReplicaId = uint64_t;

class Infrastructure {
 public:
  virtual ~Infrastructure() = default;

  // Creates the shard's replicas with fresh data and bootstraps them as one
  // Raft group, pointed at the controller. Returns the members (Raft ids
  // and addresses). A shard that exists is kept as it is.
  virtual StatusOr<std::vector<v1::Member>> CreateShard(ShardId shard) = 0;

  // Stops the shard's replicas and deletes their data. OK when none exist.
  virtual Status DeleteShard(ShardId shard) = 0;

  // The replicas the backend runs for `shard` (NOT_FOUND when none).
  virtual StatusOr<std::vector<v1::Member>> ShardReplicas(ShardId shard) = 0;

  // OK once the shard has a leader and its replicas are caught up
  // (Admin.Status `ready`); DEADLINE_EXCEEDED after `timeout`.
  virtual Status WaitShardReady(ShardId shard,
                                std::chrono::milliseconds timeout) = 0;

  // Creates and starts replica `id` of `shard` with an empty data dir, to
  // join the existing group (it is not a member until AddLearner), as the
  // replacement of replica `replaces` (a backend with fixed slots per
  // replica, e.g. a StatefulSet's ordinals, puts it in that one's slot and
  // may stop `replaces` first). Returns its identity; a replica `id` that
  // exists is kept and reported.
  virtual StatusOr<v1::Member> CreateReplica(ShardId shard, ReplicaId id,
                                             ReplicaId replaces) = 0;

  // Stops replica `id` of `shard` and deletes its data. OK when gone.
  virtual Status DeleteReplica(ShardId shard, ReplicaId id) = 0;

  // The replicas of `shard` a rolling upgrade must restart: those not
  // running the shard's current version (Kubernetes: pods not at the
  // StatefulSet's update revision; a local backend: all of them).
  virtual StatusOr<std::vector<ReplicaId>> ReplicasToUpgrade(ShardId shard) = 0;

  // Stops replica `id` and starts it again, same identity and data, at the
  // shard's current version. Returns once the restart is under way (the
  // caller waits with WaitShardReady).
  virtual Status RestartReplica(ShardId shard, ReplicaId id) = 0;
};

}  // namespace shardkv::orchestration
