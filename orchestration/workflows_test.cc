// The workflows against FakeCluster: each one end to end, each one
// interrupted right after every intent it writes (a crash before the step
// acts, which is also a crash right after the previous step acted) and
// then resumed, and scale-in cancelled.
#include "orchestration/workflows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "orchestration/fake_cluster.h"

namespace shardkv::orchestration {
namespace {

using std::chrono::milliseconds;

// Keeps the intent in memory; the Nth Save (1-based) stores it and then
// fails, as if the process died right after writing it.
class CrashingIntentStore final : public IntentStore {
 public:
  explicit CrashingIntentStore(int crash_at_save = 0)
      : crash_at_save_(crash_at_save) {}
  StatusOr<std::optional<Intent>> Load() override { return intent_; }
  Status Save(const Intent& intent) override {
    intent_ = intent;
    saved_steps_.push_back(intent.step);
    if (++saves_ == crash_at_save_) return Status(Code::kAborted, "crash");
    return Status::Ok();
  }
  Status Clear() override {
    intent_.reset();
    return Status::Ok();
  }
  void StopCrashing() { crash_at_save_ = 0; }
  const std::optional<Intent>& intent() const { return intent_; }
  const std::vector<std::string>& saved_steps() const { return saved_steps_; }

 private:
  int crash_at_save_;
  int saves_ = 0;
  std::optional<Intent> intent_;
  std::vector<std::string> saved_steps_;
};

WorkflowOptions Fast() {
  WorkflowOptions o;
  o.poll_interval = milliseconds(0);
  o.map_timeout = milliseconds(5000);
  o.shard_ready_timeout = milliseconds(5000);
  return o;
}

// Every slot owned by one of `shards`, each within one of the others.
void ExpectBalancedOver(const v1::SlotMap& map,
                        const std::vector<ShardId>& shards) {
  ASSERT_EQ(map.shards_size(), static_cast<int>(shards.size()));
  uint32_t lo = map.slot_count(), hi = 0;
  for (ShardId s : shards) {
    const v1::Shard* shard = FindShard(map, s);
    ASSERT_NE(shard, nullptr) << "shard " << s;
    EXPECT_EQ(shard->state(), v1::SHARD_ACTIVE);
    lo = std::min(lo, SlotsOwnedBy(map, s));
    hi = std::max(hi, SlotsOwnedBy(map, s));
  }
  EXPECT_LE(hi - lo, 1u);
  for (uint32_t owner : map.slot_owner()) {
    EXPECT_TRUE(std::count(shards.begin(), shards.end(), owner)) << owner;
  }
  EXPECT_TRUE(Balanced(map));
}

void Bootstrap(FakeCluster& cluster, const std::vector<ShardId>& shards) {
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  ASSERT_TRUE(o.ScaleOut(shards).ok());
}

TEST(OrchestratorTest, ScaleOutBootstrapsAnEmptyCluster) {
  FakeCluster cluster;
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  Status st = o.ScaleOut({1, 2});
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectBalancedOver(cluster.map(), {1, 2});
  EXPECT_EQ(cluster.map().totals().slots_moved(), 0u);  // assigned directly
  EXPECT_FALSE(store.intent().has_value());
  EXPECT_EQ(store.saved_steps(),
            (std::vector<std::string>{"create", "wait-ready", "join",
                                      "rebalance", "wait-balanced"}));
}

TEST(OrchestratorTest, ScaleOutMovesSlotsAndReportsProgress) {
  FakeCluster cluster;
  Bootstrap(cluster, {1, 2});
  CrashingIntentStore store;
  WorkflowOptions options = Fast();
  std::vector<Progress> seen;
  options.on_progress = [&](const Progress& p) { seen.push_back(p); };
  Orchestrator o(cluster, cluster, cluster, store, options);
  ASSERT_TRUE(o.ScaleOut({3}).ok());
  ExpectBalancedOver(cluster.map(), {1, 2, 3});
  EXPECT_TRUE(cluster.Runs(3));
  ASSERT_FALSE(seen.empty());
  const Progress& last = seen.back();
  EXPECT_EQ(last.workflow, kScaleOut);
  EXPECT_EQ(last.step, "wait-balanced");
  EXPECT_EQ(last.slots_moved, SlotsOwnedBy(cluster.map(), 3));
  EXPECT_EQ(last.slots_total, last.slots_moved);
  EXPECT_EQ(last.bytes_moved, 1000 * last.slots_moved);
  EXPECT_EQ(last.in_flight, 0u);
  bool saw_in_flight = false;
  for (const Progress& p : seen) saw_in_flight |= p.in_flight > 0;
  EXPECT_TRUE(saw_in_flight);
}

TEST(OrchestratorTest, ScaleInDrainsRemovesAndDeletes) {
  FakeCluster cluster;
  Bootstrap(cluster, {1, 2, 3});
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  Status st = o.ScaleIn({2, 3});
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectBalancedOver(cluster.map(), {1});
  EXPECT_FALSE(cluster.Runs(2));
  EXPECT_FALSE(cluster.Runs(3));
  EXPECT_TRUE(cluster.Runs(1));
}

TEST(OrchestratorTest, ScaleInRefusesToRemoveEveryShard) {
  FakeCluster cluster;
  Bootstrap(cluster, {1, 2});
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  EXPECT_EQ(o.ScaleIn({1, 2}).code(), Code::kFailedPrecondition);
  EXPECT_FALSE(store.intent().has_value());
}

TEST(OrchestratorTest, ScaleInIsCancelledWhileDraining) {
  FakeCluster cluster(64);
  Bootstrap(cluster, {1, 2});
  CrashingIntentStore store;
  WorkflowOptions options = Fast();
  int polls = 0;
  options.cancel_requested = [&] { return ++polls > 3; };
  Orchestrator o(cluster, cluster, cluster, store, options);
  EXPECT_EQ(o.ScaleIn({2}).code(), Code::kCancelled);
  EXPECT_FALSE(store.intent().has_value());
  EXPECT_TRUE(cluster.Runs(2));
  const v1::Shard* shard = FindShard(cluster.map(), 2);
  ASSERT_NE(shard, nullptr);
  EXPECT_EQ(shard->state(), v1::SHARD_ACTIVE);
  EXPECT_GT(cluster.map().totals().slots_moved(), 0u);  // some had moved
  // The controller's driver evens the map out again.
  WaitOptions wait;
  wait.poll_interval = milliseconds(0);
  ASSERT_TRUE(WaitForMap(cluster, Balanced, wait).ok());
  ExpectBalancedOver(cluster.map(), {1, 2});
}

TEST(OrchestratorTest, AnotherWorkflowInProgressMustBeResumedFirst) {
  FakeCluster cluster;
  CrashingIntentStore store(/*crash_at_save=*/2);
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  EXPECT_EQ(o.ScaleOut({1}).code(), Code::kAborted);
  store.StopCrashing();
  EXPECT_EQ(o.ScaleOut({2}).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(o.Resume().ok());
  ExpectBalancedOver(cluster.map(), {1});
  EXPECT_TRUE(o.ScaleOut({2}).ok());
}

TEST(OrchestratorTest, ReplaceReplicaSwapsTheIdentity) {
  FakeCluster cluster;
  Bootstrap(cluster, {1});
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, cluster, store, Fast());
  Status st = o.ReplaceReplica(1, 2);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<ReplicaId> ids;
  for (const v1::Member& m : cluster.RaftMembers(1)) {
    EXPECT_FALSE(m.learner());
    ids.push_back(m.id());
  }
  EXPECT_EQ(ids, (std::vector<ReplicaId>{1, 3, 4}));
  EXPECT_EQ(cluster.RunningReplicas(1), (std::vector<ReplicaId>{1, 3, 4}));
  const v1::Shard* shard = FindShard(cluster.map(), 1);
  ASSERT_NE(shard, nullptr);
  ASSERT_EQ(shard->members_size(), 3);
  EXPECT_EQ(shard->members(2).id(), 4u);
  EXPECT_EQ(o.ReplaceReplica(1, 9).code(), Code::kNotFound);
}

// Each membership call goes through, but its answer is the one a client
// retry gets after the first attempt committed unseen.
class LostAnswerAdmin final : public ShardAdmin {
 public:
  explicit LostAnswerAdmin(ShardAdmin& real) : real_(real) {}
  StatusOr<v1::StatusResponse> LeaderStatus(ShardId shard) override {
    return real_.LeaderStatus(shard);
  }
  Status AddLearner(ShardId shard, ReplicaId id,
                    const std::string& address) override {
    return Lost(real_.AddLearner(shard, id, address), "already a member");
  }
  Status Promote(ShardId shard, ReplicaId id) override {
    return Lost(real_.Promote(shard, id), "not a learner");
  }
  Status RemoveMember(ShardId shard, ReplicaId id) override {
    return Lost(real_.RemoveMember(shard, id), "not a member");
  }
  Status TransferLeadership(ShardId shard, ReplicaId to) override {
    return real_.TransferLeadership(shard, to);
  }

 private:
  static Status Lost(Status first, const std::string& retry_answer) {
    if (!first.ok()) return first;
    return FailedPrecondition(retry_answer);
  }
  ShardAdmin& real_;
};

TEST(OrchestratorTest, ReplaceReplicaSurvivesLostMembershipAnswers) {
  FakeCluster cluster;
  Bootstrap(cluster, {1});
  LostAnswerAdmin admin(cluster);
  CrashingIntentStore store;
  Orchestrator o(cluster, cluster, admin, store, Fast());
  Status st = o.ReplaceReplica(1, 2);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<ReplicaId> ids;
  for (const v1::Member& m : cluster.RaftMembers(1)) {
    EXPECT_FALSE(m.learner());
    ids.push_back(m.id());
  }
  EXPECT_EQ(ids, (std::vector<ReplicaId>{1, 3, 4}));
  EXPECT_FALSE(store.intent().has_value());
}

// Runs `workflow` with a crash after the Nth intent write, for every N,
// resumes on a fresh Orchestrator, and checks the end state with `check`.
void CrashAtEveryStep(const std::function<void(FakeCluster&)>& setup,
                      const std::function<Status(Orchestrator&)>& workflow,
                      const std::function<void(FakeCluster&)>& check) {
  for (int crash_at = 1;; ++crash_at) {
    SCOPED_TRACE("crash after intent write " + std::to_string(crash_at));
    FakeCluster cluster;
    setup(cluster);
    CrashingIntentStore store(crash_at);
    Status first;
    {
      Orchestrator o(cluster, cluster, cluster, store, Fast());
      first = workflow(o);
    }
    if (first.ok()) {
      ASSERT_GT(crash_at, 3);  // every workflow has several steps
      check(cluster);
      return;
    }
    ASSERT_EQ(first.code(), Code::kAborted) << first.ToString();
    ASSERT_TRUE(store.intent().has_value());
    store.StopCrashing();
    Orchestrator resumed(cluster, cluster, cluster, store, Fast());
    Status st = resumed.Resume();
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_FALSE(store.intent().has_value());
    check(cluster);
    // Resuming again is a no-op.
    EXPECT_TRUE(resumed.Resume().ok());
  }
}

TEST(OrchestratorTest, ScaleOutResumesFromEveryStep) {
  CrashAtEveryStep([](FakeCluster& c) { Bootstrap(c, {1}); },
                   [](Orchestrator& o) {
                     return o.ScaleOut({2, 3});
                   },
                   [](FakeCluster& c) {
                     ExpectBalancedOver(c.map(), {1, 2, 3});
                   });
}

TEST(OrchestratorTest, ScaleInResumesFromEveryStep) {
  CrashAtEveryStep(
      [](FakeCluster& c) {
        Bootstrap(c, {1, 2, 3});
      },
      [](Orchestrator& o) { return o.ScaleIn({3}); },
      [](FakeCluster& c) {
        ExpectBalancedOver(c.map(), {1, 2});
        EXPECT_FALSE(c.Runs(3));
      });
}

TEST(OrchestratorTest, ReplaceReplicaResumesFromEveryStep) {
  CrashAtEveryStep(
      [](FakeCluster& c) { Bootstrap(c, {1}); },
      [](Orchestrator& o) { return o.ReplaceReplica(1, 1); },
      [](FakeCluster& c) {
        std::vector<ReplicaId> ids;
        for (const v1::Member& m : c.RaftMembers(1)) {
          EXPECT_FALSE(m.learner());
          ids.push_back(m.id());
        }
        EXPECT_EQ(ids, (std::vector<ReplicaId>{2, 3, 4}));
        EXPECT_EQ(c.RunningReplicas(1), (std::vector<ReplicaId>{2, 3, 4}));
        EXPECT_EQ(FindShard(c.map(), 1)->members_size(), 3);
      });
}

TEST(OrchestratorTest, CancelledScaleInResumesFromTheCancelStep) {
  FakeCluster cluster(64);
  Bootstrap(cluster, {1, 2});
  // drain, wait-drained, then cancel: crash right after writing "cancel".
  CrashingIntentStore store(3);
  WorkflowOptions options = Fast();
  options.cancel_requested = [] { return true; };
  Orchestrator o(cluster, cluster, cluster, store, options);
  EXPECT_EQ(o.ScaleIn({2}).code(), Code::kAborted);
  ASSERT_EQ(store.intent()->step, "cancel");
  store.StopCrashing();
  EXPECT_EQ(o.Resume().code(), Code::kCancelled);
  EXPECT_EQ(FindShard(cluster.map(), 2)->state(), v1::SHARD_ACTIVE);
  EXPECT_TRUE(cluster.Runs(2));
}

TEST(OrchestratorTest, AbortStopsAWaitAndKeepsTheIntentForResume) {
  FakeCluster cluster(64);
  Bootstrap(cluster, {1});
  CrashingIntentStore store;
  WorkflowOptions options = Fast();
  int polls = 0;
  options.abort_requested = [&] { return ++polls > 8; };
  Orchestrator o(cluster, cluster, cluster, store, options);
  EXPECT_EQ(o.ScaleOut({2}).code(), Code::kAborted);
  ASSERT_TRUE(store.intent().has_value());
  EXPECT_EQ(store.intent()->step, "wait-balanced");
  EXPECT_FALSE(Balanced(cluster.map()));
  Orchestrator resumed(cluster, cluster, cluster, store, Fast());
  ASSERT_TRUE(resumed.Resume().ok());
  ExpectBalancedOver(cluster.map(), {1, 2});
}

TEST(IdsTest, FormatAndParse) {
  EXPECT_EQ(FormatIds({4, 5}), "4,5");
  EXPECT_EQ(*ParseIds("4,5"), (std::vector<ShardId>{4, 5}));
  EXPECT_FALSE(ParseIds("").ok());
  EXPECT_FALSE(ParseIds("4,,5").ok());
  EXPECT_FALSE(ParseIds("0").ok());
  EXPECT_FALSE(ParseIds("x").ok());
}

}  // namespace
}  // namespace shardkv::orchestration
