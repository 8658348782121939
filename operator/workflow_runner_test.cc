// WorkflowRunner over FakeClusterBackend: each workflow kind, one at a
// time, abort then resume, scale-in cancel, failures counted.
#include "operator/workflow_runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "operator/fake_cluster_backend.h"

namespace shardkv::op {
namespace {

using orchestration::ReplicaId;
using std::chrono::milliseconds;

class RunnerTest : public ::testing::Test {
 protected:
  RunnerTest() {
    orchestration::WorkflowOptions options;
    options.poll_interval = milliseconds(1);
    options.map_timeout = milliseconds(20'000);
    runner_ = std::make_unique<WorkflowRunner>(
        "demo", backend_, options,
        [this](const WorkflowRequest& request, const Status& result) {
          std::lock_guard<std::mutex> lock(mu_);
          done_.push_back({request.workflow, result});
          cv_.notify_all();
        });
  }

  // Waits for the n-th finished workflow and returns its result.
  std::pair<std::string, Status> WaitDone(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20),
                             [&] { return done_.size() >= n; }));
    if (done_.size() < n) return {"", Internal("timeout")};
    return done_[n - 1];
  }

  WorkflowRequest Request(Action action, std::vector<ShardId> shards) {
    WorkflowRequest r;
    r.decision.action = action;
    r.decision.shards = std::move(shards);
    r.workflow = WorkflowName(action);
    return r;
  }

  size_t MapShards() {
    size_t n = 0;
    backend_.WithCluster(
        [&](orchestration::FakeCluster& c) { n = c.map().shards_size(); });
    return n;
  }

  FakeClusterBackend backend_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, Status>> done_;
  std::unique_ptr<WorkflowRunner> runner_;
};

TEST_F(RunnerTest, BootstrapThenScaleOutThenScaleIn) {
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1, 2})).ok());
  auto [name, result] = WaitDone(1);
  EXPECT_EQ(name, "scale-out");
  EXPECT_TRUE(result.ok()) << result.ToString();
  runner_->Join();
  EXPECT_EQ(MapShards(), 2u);
  EXPECT_FALSE(runner_->running());
  EXPECT_FALSE(backend_.recorded().has_value());

  ASSERT_TRUE(runner_->Start(Request(Action::kScaleOut, {3})).ok());
  EXPECT_TRUE(WaitDone(2).second.ok());
  EXPECT_EQ(MapShards(), 3u);

  ASSERT_TRUE(runner_->Start(Request(Action::kScaleIn, {3})).ok());
  EXPECT_TRUE(WaitDone(3).second.ok());
  EXPECT_EQ(MapShards(), 2u);
  WorkflowObservation o = runner_->Observe();
  EXPECT_EQ(o.last_workflow, "scale-in");
  EXPECT_EQ(o.consecutive_failures, 0);
}

TEST_F(RunnerTest, OneWorkflowAtATime) {
  backend_.SetMapGate(true);
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1})).ok());
  EXPECT_TRUE(runner_->running());
  Status second = runner_->Start(Request(Action::kScaleOut, {2}));
  EXPECT_EQ(second.code(), Code::kFailedPrecondition);
  backend_.SetMapGate(false);
  EXPECT_TRUE(WaitDone(1).second.ok());
}

TEST_F(RunnerTest, AbortKeepsTheIntentAndResumeFinishes) {
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1})).ok());
  ASSERT_TRUE(WaitDone(1).second.ok());
  backend_.SetMapGate(true);
  ASSERT_TRUE(runner_->Start(Request(Action::kScaleOut, {2})).ok());
  // Stop it while it waits for slots to move onto shard 2.
  for (int i = 0; i < 5000; ++i) {
    auto intent = backend_.recorded();
    if (intent.has_value() && intent->step == "wait-balanced") break;
    std::this_thread::sleep_for(milliseconds(1));
  }
  runner_->RequestAbort();
  backend_.SetMapGate(false);
  auto [name, result] = WaitDone(2);
  EXPECT_EQ(result.code(), Code::kAborted) << result.ToString();
  ASSERT_TRUE(backend_.recorded().has_value());
  EXPECT_TRUE(runner_->Observe().last_error.empty());  // paused, not failed

  WorkflowRequest resume;
  resume.decision.action = Action::kResume;
  ASSERT_TRUE(runner_->Start(resume).ok());
  auto resumed = WaitDone(3);
  EXPECT_TRUE(resumed.second.ok()) << resumed.second.ToString();
  EXPECT_EQ(resumed.first, "scale-out");  // named from the intent
  EXPECT_FALSE(backend_.recorded().has_value());
  EXPECT_EQ(MapShards(), 2u);
}

TEST_F(RunnerTest, CancelWantedCancelsADrainingScaleIn) {
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1, 2, 3})).ok());
  ASSERT_TRUE(WaitDone(1).second.ok());
  backend_.SetMapGate(true);
  ASSERT_TRUE(runner_->Start(Request(Action::kScaleIn, {3})).ok());
  runner_->SetCancelWanted(true);
  backend_.SetMapGate(false);
  auto [name, result] = WaitDone(2);
  EXPECT_EQ(result.code(), Code::kCancelled) << result.ToString();
  EXPECT_EQ(MapShards(), 3u);
  backend_.WithCluster([](orchestration::FakeCluster& c) {
    for (const v1::Shard& s : c.map().shards()) {
      EXPECT_EQ(s.state(), v1::SHARD_ACTIVE) << s.id();
    }
  });
  EXPECT_TRUE(runner_->Observe().last_error.empty());
}

TEST_F(RunnerTest, FailuresAreCountedAndResetBySuccess) {
  backend_.SetControllerDown(true);
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1})).ok());
  EXPECT_FALSE(WaitDone(1).second.ok());
  WorkflowObservation o = runner_->Observe();
  EXPECT_EQ(o.consecutive_failures, 1);
  EXPECT_NE(o.last_error.find("controller down"), std::string::npos);
  EXPECT_TRUE(backend_.recorded().has_value());  // resumable

  WorkflowRequest resume;
  resume.decision.action = Action::kResume;
  ASSERT_TRUE(runner_->Start(resume).ok());
  EXPECT_FALSE(WaitDone(2).second.ok());
  EXPECT_EQ(runner_->Observe().consecutive_failures, 2);

  backend_.SetControllerDown(false);
  ASSERT_TRUE(runner_->Start(resume).ok());
  EXPECT_TRUE(WaitDone(3).second.ok());
  EXPECT_EQ(runner_->Observe().consecutive_failures, 0);
  EXPECT_TRUE(runner_->Observe().last_error.empty());
}

TEST_F(RunnerTest, ReplaceReplicaPutsTheNewIdentityAtTheOldOrdinal) {
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1})).ok());
  ASSERT_TRUE(WaitDone(1).second.ok());
  WorkflowRequest replace;
  replace.decision.action = Action::kReplaceReplica;
  replace.decision.shard = 1;
  replace.decision.ordinal = 1;
  replace.replica = backend_.ReplicaIdAt(1, 1).value();
  replace.workflow = WorkflowName(Action::kReplaceReplica);
  replace.pod = "demo-shard-1-1";
  ASSERT_TRUE(runner_->Start(replace).ok());
  EXPECT_EQ(runner_->Observe().replacing_pod, "demo-shard-1-1");
  EXPECT_TRUE(WaitDone(2).second.ok()) << WaitDone(2).second.ToString();
  auto id = backend_.ReplicaIdAt(1, 1);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 4u);  // ids 1..3 were taken: a new identity
  EXPECT_EQ(backend_.OrdinalOf(1, 4).value(), 1);
}

TEST_F(RunnerTest, RollingUpgradeRestartsStaleReplicas) {
  ASSERT_TRUE(runner_->Start(Request(Action::kBootstrap, {1, 2})).ok());
  ASSERT_TRUE(WaitDone(1).second.ok());
  backend_.WithCluster([](orchestration::FakeCluster& c) { c.SetVersion(2); });
  ASSERT_TRUE(runner_->Start(Request(Action::kRollingUpgrade, {1, 2})).ok());
  auto [name, result] = WaitDone(2);
  EXPECT_EQ(name, "rolling-upgrade");
  EXPECT_TRUE(result.ok()) << result.ToString();
  backend_.WithCluster([](orchestration::FakeCluster& c) {
    EXPECT_EQ(c.restarts().size(), 6u);
    for (ShardId s : {1u, 2u}) {
      for (ReplicaId r : {1u, 2u, 3u}) EXPECT_EQ(c.VersionOf(s, r), 2u);
    }
  });
}

TEST_F(RunnerTest, WorkflowNames) {
  EXPECT_EQ(WorkflowName(Action::kBootstrap), "scale-out");
  EXPECT_EQ(WorkflowName(Action::kScaleIn), "scale-in");
  EXPECT_EQ(WorkflowName(Action::kReplaceReplica), "replace-replica");
  EXPECT_EQ(WorkflowName(Action::kRollingUpgrade), "rolling-upgrade");
  EXPECT_EQ(WorkflowName(Action::kWait), "");
}

}  // namespace
}  // namespace shardkv::op
