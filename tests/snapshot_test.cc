// Snapshot catch-up: a follower is stopped while the others take enough
// writes to compact their logs past its last entry, then restarted. It can
// only catch up through a streamed snapshot; its status and its data (stale
// reads) are checked, and the workload's history must stay linearizable.
#include <gtest/gtest.h>

#include "client/kv_client.h"
#include "tests/harness/cluster_test.h"

namespace shardkv::test {
namespace {

const std::vector<NodeId> kVoters = {1, 2, 3};

class SnapshotTest : public ClusterTest {};

TEST_F(SnapshotTest, SnapshotCatchUp) {
  ClusterOptions options;
  // Compact often and keep little, so a few thousand writes are enough.
  options.extra_flags = {"--log-retain-entries", "100",
                         "--compact-every-entries", "300"};
  NodeId leader = StartCluster(options);
  ASSERT_NE(leader, 0u);
  WorkloadOptions w;
  w.seed = 66;
  w.threads = 4;
  w.hot_keys = 2;
  w.cold_keys = 200;
  w.hot_fraction = 0.2;
  w.read_fraction = 0.1;
  StartWorkload(w);
  Sleep(milliseconds(1000));

  NodeId follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(cluster_->Stop(follower).ok());
  // The follower's log cannot extend past the leader's last index as of
  // after the stop.
  std::vector<NodeId> rest;
  for (NodeId id : kVoters) {
    if (id != follower) rest.push_back(id);
  }
  auto current = cluster_->WaitForLeader(kLeaderTimeout, kVoters);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  auto at_stop = cluster_->NodeStatus(*current);
  ASSERT_TRUE(at_stop.ok()) << at_stop.status().ToString();
  const uint64_t follower_last_bound = at_stop->last_log_index();

  // Wait until every remaining replica compacted past that point.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool compacted = false;
  std::string last;
  while (!compacted && std::chrono::steady_clock::now() < deadline) {
    compacted = true;
    last.clear();
    for (NodeId id : rest) {
      auto s = cluster_->NodeStatus(id);
      if (!s.ok()) {
        compacted = false;
        continue;
      }
      last += " node " + std::to_string(id) + " first_log_index " +
              std::to_string(s->first_log_index());
      if (s->first_log_index() <= follower_last_bound + 1) compacted = false;
    }
    if (!compacted) Sleep(milliseconds(200));
  }
  ASSERT_TRUE(compacted) << "logs not compacted past " << follower_last_bound
                         << " within 60 s:" << last;

  ASSERT_TRUE(cluster_->Restart(follower).ok());
  Sleep(milliseconds(2000));
  VerifyAfterFaults(kVoters);

  auto after = cluster_->NodeStatus(follower);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_GT(after->snapshot_index(), follower_last_bound)
      << "the follower did not install a snapshot newer than its log";
  EXPECT_GT(after->first_log_index(), follower_last_bound)
      << "the follower's log does not start after the snapshot";
  EXPECT_EQ(after->applied_index(), after->commit_index());
  std::printf(
      "follower %llu: last index before stop <= %llu, snapshot %llu, "
      "log [%llu, %llu]\n",
      static_cast<unsigned long long>(follower),
      static_cast<unsigned long long>(follower_last_bound),
      static_cast<unsigned long long>(after->snapshot_index()),
      static_cast<unsigned long long>(after->first_log_index()),
      static_cast<unsigned long long>(after->last_log_index()));
}

}  // namespace
}  // namespace shardkv::test

namespace shardkv::test {
namespace {

// A follower misses ~48 MiB of log in 512 KiB values (no compaction, so it
// must catch up from the log itself, in appends bounded by the transport's
// batch limit). Note: this did not fail when batches were unbounded (the
// probe cycle still made progress); it covers large-value catch-up.
TEST_F(SnapshotTest, FollowerFarBehindCatchesUpFromTheLog) {
  ClusterOptions options;
  NodeId leader = StartCluster(options);
  ASSERT_NE(leader, 0u);
  NodeId follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(cluster_->Stop(follower).ok());

  client::ClientOptions co;
  co.endpoints = cluster_->addresses();
  co.timeout = std::chrono::seconds(20);
  auto client = client::Client::Create(co);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::string big(512 << 10, 'x');
  for (int i = 0; i < 96; ++i) {
    auto r = (*client)->Set("big-" + std::to_string(i), big);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_TRUE(cluster_->Restart(follower).ok());
  Status s = cluster_->WaitConverged(std::chrono::seconds(30), kVoters);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto st = cluster_->NodeStatus(follower);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->snapshot_index(), 0u) << "caught up by snapshot, not log";

  client::ClientOptions direct;
  direct.endpoints = {cluster_->address(follower)};
  auto at_follower = client::Client::Create(direct);
  ASSERT_TRUE(at_follower.ok());
  auto r = (*at_follower)->Get("big-95", client::Consistency::kStale);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, big);
}

}  // namespace
}  // namespace shardkv::test
