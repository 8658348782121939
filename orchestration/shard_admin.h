// shardkv::orchestration::ShardAdmin — membership of one shard's Raft group,
// as the replica-replacement and rolling-upgrade workflows need it. The real
// implementation (admin_shard_admin.h) goes through client::AdminClient; tests
// use a fake.
//
// Implementations say their own thread-safety.
#pragma once

#include <string>

#include "common/status.h"
#include "orchestration/infrastructure.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::orchestration {

class ShardAdmin {
 public:
  virtual ~ShardAdmin() = default;

  // The shard leader's status: members (learner flag, match_index) and
  // commit_index. UNAVAILABLE when no leader answers.
  virtual StatusOr<v1::StatusResponse> LeaderStatus(ShardId shard) = 0;
  virtual Status AddLearner(ShardId shard, ReplicaId id,
                            const std::string& address) = 0;
  virtual Status Promote(ShardId shard, ReplicaId id) = 0;
  virtual Status RemoveMember(ShardId shard, ReplicaId id) = 0;
  // Asks the leader to hand leadership to voter `to`; returns once asked
  // (the caller polls LeaderStatus for the result).
  virtual Status TransferLeadership(ShardId shard, ReplicaId to) = 0;
};

}  // namespace shardkv::orchestration
