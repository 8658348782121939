// The rolling-upgrade workflow against FakeCluster, which refuses to
// restart a leader or a second replica of a shard before the first is
// back: end to end, with nothing to do, and interrupted after every intent
// it writes and resumed.
#include <gtest/gtest.h>

#include <set>

#include "orchestration/fake_cluster.h"
#include "orchestration/workflows.h"

namespace shardkv::orchestration {
namespace {

using std::chrono::milliseconds;

// In-memory intents; the Nth Save (1-based) stores and then fails.
class MemoryIntentStore final : public IntentStore {
 public:
  explicit MemoryIntentStore(int crash_at_save = 0)
      : crash_at_(crash_at_save) {}
  StatusOr<std::optional<Intent>> Load() override { return intent_; }
  Status Save(const Intent& intent) override {
    intent_ = intent;
    if (++saves_ == crash_at_) return Status(Code::kAborted, "crash");
    return Status::Ok();
  }
  Status Clear() override {
    intent_.reset();
    return Status::Ok();
  }
  int saves() const { return saves_; }

 private:
  int crash_at_;
  int saves_ = 0;
  std::optional<Intent> intent_;
};

WorkflowOptions Fast() {
  WorkflowOptions o;
  o.poll_interval = milliseconds(0);
  o.map_timeout = milliseconds(5000);
  o.shard_ready_timeout = milliseconds(5000);
  return o;
}

void Bootstrap(FakeCluster& cluster) {
  MemoryIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  ASSERT_TRUE(o.ScaleOut({1, 2}).ok());
}

void ExpectAllAt(const FakeCluster& cluster, uint64_t version) {
  for (ShardId s : {1u, 2u}) {
    for (ReplicaId id : cluster.RunningReplicas(s)) {
      EXPECT_EQ(cluster.VersionOf(s, id), version) << s << "/" << id;
    }
  }
}

TEST(RollingUpgradeTest, RestartsEveryReplicaOnceWithLeadershipMovedOff) {
  FakeCluster cluster;
  Bootstrap(cluster);
  ASSERT_EQ(cluster.Leader(1), 1u);
  cluster.SetVersion(1);
  MemoryIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  Status s = o.RollingUpgrade({1, 2});
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectAllAt(cluster, 1);
  EXPECT_EQ(cluster.restarts().size(), 6u);
  std::set<std::pair<ShardId, ReplicaId>> distinct(cluster.restarts().begin(),
                                                   cluster.restarts().end());
  EXPECT_EQ(distinct.size(), 6u);
  // Shard by shard.
  EXPECT_EQ(cluster.restarts()[2].first, 1u);
  EXPECT_EQ(cluster.restarts()[3].first, 2u);
  EXPECT_NE(cluster.Leader(1), 0u);
  EXPECT_FALSE(store.Load()->has_value());
}

TEST(RollingUpgradeTest, NothingToRestartWhenAllRunTheVersion) {
  FakeCluster cluster;
  Bootstrap(cluster);
  MemoryIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  ASSERT_TRUE(o.RollingUpgrade({1, 2}).ok());
  EXPECT_TRUE(cluster.restarts().empty());
  EXPECT_EQ(o.RollingUpgrade({}).code(), Code::kInvalidArgument);
}

TEST(RollingUpgradeTest, TheFakeRefusesToRestartTheLeader) {
  FakeCluster cluster;
  Bootstrap(cluster);
  EXPECT_EQ(cluster.RestartReplica(1, cluster.Leader(1)).code(),
            Code::kFailedPrecondition);
  ReplicaId other = cluster.Leader(1) == 1 ? 2 : 1;
  ASSERT_TRUE(cluster.RestartReplica(1, other).ok());
  ReplicaId third = 6 - cluster.Leader(1) - other;
  EXPECT_EQ(cluster.RestartReplica(1, third).code(),
            Code::kFailedPrecondition);  // `other` not back yet
}

TEST(RollingUpgradeTest, ResumesAfterACrashAtEveryIntent) {
  for (int crash_at = 1;; ++crash_at) {
    FakeCluster cluster;
    Bootstrap(cluster);
    cluster.SetVersion(7);
    MemoryIntentStore store(crash_at);
    Orchestrator o(cluster, cluster, cluster, store, Fast());
    Status first = o.RollingUpgrade({1, 2});
    if (first.ok()) {
      ASSERT_GT(crash_at, 10);  // every save was crashed at once
      break;
    }
    ASSERT_EQ(first.code(), Code::kAborted) << first.ToString();
    Orchestrator again(cluster, cluster, cluster, store, Fast());
    Status resumed = again.Resume();
    ASSERT_TRUE(resumed.ok())
        << "crash at " << crash_at << ": " << resumed.ToString();
    ExpectAllAt(cluster, 7);
    EXPECT_FALSE(store.Load()->has_value());
  }
}

}  // namespace
}  // namespace shardkv::orchestration
