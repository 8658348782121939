// ClusterTest: gtest fixture for the multi-process tests. Owns a
// ShardCluster, a History and a Workload, and provides the common ending of
// every scenario (VerifyAfterFaults). When a test fails, its node logs and
// data dirs are kept and their directory printed.
//
// Thread-safety: the test's main thread only (the Workload owns its own
// client threads).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/lincheck/history.h"
#include "tests/harness/checks.h"
#include "tests/harness/shard_cluster.h"
#include "tests/harness/workload.h"

namespace shardkv::test {

// Elections take 10 ticks of 20 ms; a leader is expected well within this
// on a loaded 2-core machine.
inline constexpr milliseconds kLeaderTimeout{15000};
inline constexpr milliseconds kConvergeTimeout{30000};

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (workload_) workload_->Stop();
    if (HasFailure() && cluster_) {
      std::string dir = cluster_->KeepFiles();
      std::printf("node logs and data kept in %s\n", dir.c_str());
    }
    workload_.reset();
    cluster_.reset();
  }

  // Starts the cluster and waits for a leader; returns its id (0 after a
  // fatal failure).
  NodeId StartCluster(ClusterOptions options) {
    options.name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto cluster = ShardCluster::Start(std::move(options));
    EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
    if (!cluster.ok()) return 0;
    cluster_ = std::move(cluster).value();
    std::printf("cluster files in %s\n", cluster_->dir().c_str());
    auto leader = cluster_->WaitForLeader(kLeaderTimeout, cluster_->ids());
    EXPECT_TRUE(leader.ok()) << leader.status().ToString();
    return leader.ok() ? *leader : 0;
  }

  void StartWorkload(WorkloadOptions options) {
    workload_ = std::make_unique<Workload>(cluster_->addresses(),
                                           std::move(options), &history_);
    Status s = workload_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static void Sleep(milliseconds d) { std::this_thread::sleep_for(d); }

  // Stops the workload, waits for `voters` to agree on a leader and
  // converge, reads every key back into the history, and checks: enough
  // writes were acknowledged for the test to mean something, the history
  // is linearizable, and every replica in `voters` holds the same data.
  void VerifyAfterFaults(const std::vector<NodeId>& voters,
                         uint64_t min_acked_writes = 50) {
    workload_->Stop();
    WorkloadCounts c = workload_->Counts();
    std::printf("workload: %llu ok, %llu condition failed, %llu unknown\n",
                static_cast<unsigned long long>(c.ok),
                static_cast<unsigned long long>(c.condition_failed),
                static_cast<unsigned long long>(c.unknown));
    EXPECT_GE(workload_->AckedWrites(), min_acked_writes)
        << "too few acknowledged writes for a meaningful check";
    auto leader = cluster_->WaitForLeader(kLeaderTimeout, voters);
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
    Status s = cluster_->WaitConverged(kConvergeTimeout, voters);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> keys = workload_->Keys();
    s = RecordFinalReads(cluster_->addresses(voters), keys, &history_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = CheckLinearizable(history_, cluster_->dir() + "/history.jsonl");
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = CheckReplicasAgree(*cluster_, voters, keys);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  lincheck::History history_;
  std::unique_ptr<ShardCluster> cluster_;
  std::unique_ptr<Workload> workload_;
};

}  // namespace shardkv::test
