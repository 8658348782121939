// SlotMapStore on a real single-replica Raft group (in process): creation,
// CAS updates bumping the epoch, no-op edits not written, failed edits
// writing nothing, concurrent updates all landing, and updates queued
// behind a write in flight group-committed in order with their own results.
#include "node/controller/map_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "node/controller/map_edits.h"
#include "testing/cluster/free_port.h"
#include "testing/cluster/temp_dir.h"

namespace shardkv::controller {
namespace {

class MapStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::Create("map-store");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<test::TempDir>(std::move(dir).value());
    server::NodeConfig config;
    config.id = 1;
    config.role = server::NodeRole::kController;
    config.listen = "127.0.0.1:" + std::to_string(test::FreePort());
    config.peers[1] = config.listen;
    config.data_dir = dir_->Join("data");
    config.tick_ms = 10;
    replica_ = std::make_unique<server::Replica>(config);
    ASSERT_TRUE(replica_->Start().ok());
    for (int i = 0; i < 500 && !replica_->IsLeader(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(replica_->IsLeader());
    store_ = std::make_unique<SlotMapStore>(replica_.get());
  }
  void TearDown() override {
    if (replica_) replica_->Stop();
  }

  StatusOr<v1::SlotMap> Create(uint32_t slot_count) {
    std::promise<StatusOr<v1::SlotMap>> promise;
    auto future = promise.get_future();
    store_->CreateIfAbsent(slot_count, [&](StatusOr<v1::SlotMap> r) {
      promise.set_value(std::move(r));
    });
    return future.get();
  }

  static SlotMapStore::Edit Join(uint32_t id) {
    return [id](v1::SlotMap* map) {
      v1::JoinShardRequest request;
      request.set_shard_id(id);
      v1::Member* m = request.add_members();
      m->set_id(1);
      m->set_address("h:" + std::to_string(id));
      return JoinShard(request, map);
    };
  }

  std::unique_ptr<test::TempDir> dir_;
  std::unique_ptr<server::Replica> replica_;
  std::unique_ptr<SlotMapStore> store_;
};

TEST_F(MapStoreTest, CreatesOnceAndEveryChangeBumpsTheEpoch) {
  auto before = store_->ReadBlocking();
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->exists);
  EXPECT_EQ(store_->UpdateBlocking(Join(1)).status().code(),
            Code::kUnavailable);  // no map yet

  auto created = Create(64);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->epoch(), 1u);
  EXPECT_EQ(created->slot_owner_size(), 64);
  auto again = Create(128);  // already there: the stored map wins
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->slot_count(), 64u);
  EXPECT_EQ(again->epoch(), 1u);

  auto joined = store_->UpdateBlocking(Join(7));
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->epoch(), 2u);
  auto same = store_->UpdateBlocking(Join(7));  // nothing changes
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->epoch(), 2u);
  auto bad = store_->UpdateBlocking(
      [](v1::SlotMap* map) { return RemoveShard(99, map); });
  EXPECT_EQ(bad.status().code(), Code::kNotFound);

  auto stored = store_->ReadBlocking();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->map.epoch(), 2u);
  EXPECT_EQ(stored->map.shards_size(), 1);
  auto applied = store_->Applied();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->map.SerializeAsString(), stored->map.SerializeAsString());
}

TEST_F(MapStoreTest, ConcurrentUpdatesAllLand) {
  ASSERT_TRUE(Create(16).ok());
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([this, i, &results] {
      results[i] = store_->UpdateBlocking(Join(100 + i)).status();
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  auto stored = store_->ReadBlocking();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->map.shards_size(), kThreads);
  // One epoch per write; concurrent edits may share a write.
  EXPECT_GE(stored->map.epoch(), 2u);
  EXPECT_LE(stored->map.epoch(), 1u + kThreads);
}

TEST_F(MapStoreTest, UpdatesQueuedBehindAWriteGoTogetherInOrder) {
  ASSERT_TRUE(Create(16).ok());
  // The first update starts a write; the rest queue behind it (issued
  // before its linearizable read and commit can finish) and go in one
  // batch: a join, a drain of that shard (valid only after the join in
  // the same batch), a failing edit, and another join.
  std::vector<SlotMapStore::Edit> edits = {
      Join(1), Join(2), [](v1::SlotMap* map) { return DrainShard(2, map); },
      [](v1::SlotMap* map) { return RemoveShard(99, map); }, Join(3)};
  std::vector<std::promise<StatusOr<v1::SlotMap>>> done(edits.size());
  for (size_t i = 0; i < edits.size(); ++i) {
    store_->Update(edits[i], [&done, i](StatusOr<v1::SlotMap> r) {
      done[i].set_value(std::move(r));
    });
  }
  std::vector<StatusOr<v1::SlotMap>> results;
  for (auto& d : done) results.push_back(d.get_future().get());
  EXPECT_EQ(results[3].status().code(), Code::kNotFound);
  for (size_t i : {0, 1, 2, 4}) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
  }
  EXPECT_EQ(results[0]->epoch(), 2u);
  // Joins of 2 and 3 and the drain were one write (epoch 3), and each
  // caller got that map.
  for (size_t i : {1, 2, 4}) {
    EXPECT_EQ(results[i]->epoch(), 3u);
    EXPECT_EQ(results[i]->shards_size(), 3);
  }
  const v1::Shard* two = FindShard(*results[4], 2);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->state(), v1::SHARD_DRAINING);
}

}  // namespace
}  // namespace shardkv::controller
