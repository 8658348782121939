// Scale 2 -> 4 -> 1 shards under a recorded workload (reads, writes,
// deletes, TTL writes, conditional writes): after each step every key of a
// book written at the start is intact, no replica serves a slot its shard
// does not own, and at the end the whole history is linearizable.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

#include "tests/harness/checks.h"
#include "tests/migration_test_util.h"

namespace shardkv::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSettle(120000);

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

uint32_t Owned(const v1::SlotMap& map, uint32_t shard) {
  uint32_t n = 0;
  for (uint32_t o : map.slot_owner()) n += o == shard;
  return n;
}

class MigrationScaleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (workload_) workload_->Stop();
    if (HasFailure() && cluster_) {
      for (const std::string& d : cluster_->KeepFiles()) {
        std::printf("kept %s\n", d.c_str());
      }
    }
    workload_.reset();
    cluster_.reset();
  }

  // Every book key intact; the foreign-slot check needs a quiet cluster,
  // so it runs with the workload paused (a fresh one continues the
  // history with new client ids).
  void VerifyStep(const std::string& step, KeyBook& book) {
    Status s = book.VerifyAll();
    EXPECT_TRUE(s.ok()) << step << ": " << s.ToString();
    workload_->Stop();
    WorkloadCounts c = workload_->Counts();
    std::printf("%s: workload %llu ok, %llu unknown\n", step.c_str(),
                static_cast<unsigned long long>(c.ok),
                static_cast<unsigned long long>(c.unknown));
    auto map = cluster_->WaitSettled(kSettle);
    ASSERT_TRUE(map.ok()) << map.status().ToString();
    std::vector<std::string> keys = book.keys();
    for (const std::string& k : workload_->Keys()) keys.push_back(k);
    s = CheckNoForeignSlotServed(*cluster_, *map, keys);
    EXPECT_TRUE(s.ok()) << step << ": " << s.ToString();
    acked_before_ += workload_->AckedWrites();
    StartWorkload();
  }

  void StartWorkload() {
    WorkloadOptions w = MigrationWorkload(++workloads_);
    // Later workloads use other client ids (fresh clients) but the same
    // keys, so the history of each key spans every step.
    workload_ = std::make_unique<Workload>(cluster_->endpoints(), w, &history_);
    ASSERT_TRUE(workload_->Start().ok());
  }

  std::unique_ptr<ShardedCluster> cluster_;
  lincheck::History history_;
  std::unique_ptr<Workload> workload_;
  uint64_t workloads_ = 0;
  uint64_t acked_before_ = 0;  // writes acknowledged by earlier workloads
};

TEST_F(MigrationScaleTest, TwoToFourToOneKeepsEveryKey) {
  ShardedClusterOptions options;
  options.name = "migscale";
  options.shards = 2;
  options.replicas = 3;
  options.slot_count = 64;
  auto started = ShardedCluster::Start(options, kSettle);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  cluster_ = std::move(started).value();
  KeyBook book(cluster_->endpoints(), 1000, 1024);
  ASSERT_TRUE(book.WriteAll().ok());
  StartWorkload();
  std::this_thread::sleep_for(milliseconds(500));

  Clock::time_point start = Clock::now();
  for (uint32_t id : {3u, 4u}) {
    ASSERT_TRUE(cluster_->StartShard(id).ok());
    ASSERT_TRUE(
        cluster_->shard(id)
            .WaitForLeader(milliseconds(15000), cluster_->shard(id).ids())
            .ok());
    ASSERT_TRUE(cluster_->JoinShard(id).ok());
  }
  ASSERT_TRUE(cluster_->Rebalance().ok());
  auto map = cluster_->WaitSettled(kSettle);
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  std::printf("[measured] 2 -> 4 shards: %lld ms, %llu slots moved so far\n",
              static_cast<long long>(MillisSince(start)),
              static_cast<unsigned long long>(map->totals().slots_moved()));
  for (uint32_t id = 1; id <= 4; ++id) EXPECT_EQ(Owned(*map, id), 16u);
  VerifyStep("4 shards", book);

  start = Clock::now();
  for (uint32_t id : {2u, 3u, 4u}) {
    ASSERT_TRUE(cluster_->DrainShard(id).ok());
  }
  map = cluster_->WaitSettled(kSettle);
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(Owned(*map, 1), 64u);
  for (uint32_t id : {2u, 3u, 4u}) {
    ASSERT_TRUE(cluster_->RemoveShard(id).ok());
    cluster_->StopShard(id);
  }
  std::printf("[measured] 4 -> 1 shard: %lld ms, %llu slots moved in all\n",
              static_cast<long long>(MillisSince(start)),
              static_cast<unsigned long long>(map->totals().slots_moved()));
  VerifyStep("1 shard", book);

  std::this_thread::sleep_for(milliseconds(500));
  workload_->Stop();
  // Enough writes acknowledged over the steps for the check to mean much.
  EXPECT_GE(acked_before_ + workload_->AckedWrites(), 200u);
  Status s =
      RecordFinalReads(cluster_->endpoints(), workload_->Keys(), &history_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = CheckLinearizable(history_, "/tmp/migscale-history.jsonl");
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = book.VerifyAll();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace shardkv::test
