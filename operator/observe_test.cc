// ObserveShards() and UnreadyTracker from API-server-shaped JSON.
#include "operator/observe.h"

#include <gtest/gtest.h>

namespace shardkv::op {
namespace {

using std::chrono::seconds;
using Clock = UnreadyTracker::Clock;

ShardedKV Demo() {
  ShardedKV kv;
  kv.name = "demo";
  kv.ns = "ns";
  kv.replicas_per_shard = 3;
  kv.controller_replicas = 3;
  return kv;
}

Json Set(int shard, int replicas) {
  const std::string name = "demo-shard-" + std::to_string(shard);
  return {{"metadata",
           {{"name", name},
            {"namespace", "ns"},
            {"labels",
             {{"shardkv.io/cluster", "demo"},
              {"shardkv.io/role", "shard"},
              {"shardkv.io/shard", std::to_string(shard)}}}}},
          {"spec", {{"replicas", replicas}}}};
}

Json Pod(const std::string& name, bool ready, const std::string& image) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}}},
          {"spec",
           {{"containers",
             {{{"name", "node"}, {"image", image}},
              {{"name", "sidecar"}, {"image", "other"}}}}}},
          {"status",
           {{"conditions",
             {{{"type", "PodScheduled"}, {"status", "True"}},
              {{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

TEST(ObserveTest, PodReadinessAndImage) {
  EXPECT_TRUE(IsPodReady(Pod("p", true, "a")));
  EXPECT_FALSE(IsPodReady(Pod("p", false, "a")));
  EXPECT_FALSE(IsPodReady(Json{{"metadata", {{"name", "p"}}}}));
  EXPECT_EQ(NodeImageOf(Pod("p", true, "shardkv:2")), "shardkv:2");
  EXPECT_EQ(NodeImageOf(Json::object()), "");
}

TEST(ObserveTest, MergesMapAndStatefulSets) {
  v1::SlotMap map;
  map.set_slot_count(4);
  for (int id : {1, 2}) {
    v1::Shard* s = map.add_shards();
    s->set_id(id);
    s->set_state(id == 2 ? v1::SHARD_DRAINING : v1::SHARD_ACTIVE);
  }
  for (uint32_t owner : {1, 1, 1, 2}) map.add_slot_owner(owner);
  // Shard 2 has no set (lost?), shard 3 has a set but is not in the map
  // yet (a scale-out between create and join).
  std::vector<Json> sets = {Set(3, 3), Set(1, 3)};
  std::vector<Json> pods = {Pod("demo-shard-1-0", true, "img"),
                            Pod("demo-shard-1-2", false, "img"),
                            Pod("demo-shard-3-1", true, "img")};
  UnreadyTracker tracker;
  auto shards = ObserveShards(Demo(), sets, pods, &map, tracker, Clock::now());
  ASSERT_EQ(shards.size(), 3u);
  EXPECT_EQ(shards[0].id, 1u);
  EXPECT_TRUE(shards[0].in_map);
  EXPECT_TRUE(shards[0].set_exists);
  EXPECT_EQ(shards[0].slots, 3u);
  ASSERT_EQ(shards[0].pods.size(), 3u);
  EXPECT_TRUE(shards[0].pods[0].ready);
  EXPECT_FALSE(shards[0].pods[1].exists);
  EXPECT_TRUE(shards[0].pods[2].exists);
  EXPECT_FALSE(shards[0].pods[2].ready);
  EXPECT_EQ(shards[0].pods[2].name, "demo-shard-1-2");
  EXPECT_EQ(shards[0].ReadyReplicas(), 1);
  EXPECT_EQ(shards[1].id, 2u);
  EXPECT_TRUE(shards[1].draining);
  EXPECT_FALSE(shards[1].set_exists);
  EXPECT_EQ(shards[1].replicas, 3);
  EXPECT_EQ(shards[1].slots, 1u);
  EXPECT_EQ(shards[2].id, 3u);
  EXPECT_FALSE(shards[2].in_map);
  EXPECT_EQ(shards[2].ReadyReplicas(), 1);
}

TEST(ObserveTest, IgnoresForeignSets) {
  Json other = Set(1, 3);
  other["metadata"]["name"] = "other-shard-1";
  Json controller = Set(1, 3);
  controller["metadata"]["labels"]["shardkv.io/role"] = "controller";
  Json bad = Set(1, 3);
  bad["metadata"]["labels"]["shardkv.io/shard"] = "x1";
  UnreadyTracker tracker;
  auto shards = ObserveShards(Demo(), {other, controller, bad}, {}, nullptr,
                              tracker, Clock::now());
  EXPECT_TRUE(shards.empty());
}

TEST(ObserveTest, UnreadyTimeCountsFromTheFirstSighting) {
  UnreadyTracker tracker;
  const auto t0 = Clock::now();
  EXPECT_EQ(tracker.Track("p", false, t0).count(), 0);
  EXPECT_EQ(tracker.Track("p", false, t0 + seconds(40)),
            std::chrono::milliseconds(40'000));
  EXPECT_EQ(tracker.Track("p", true, t0 + seconds(41)).count(), 0);
  EXPECT_EQ(tracker.Track("p", false, t0 + seconds(50)).count(), 0);
  EXPECT_EQ(tracker.Track("p", false, t0 + seconds(60)),
            std::chrono::milliseconds(10'000));
  // Not seen in a round: forgotten, counting restarts.
  tracker.ForgetUnseen();
  tracker.ForgetUnseen();
  EXPECT_EQ(tracker.Track("p", false, t0 + seconds(70)).count(), 0);
}

TEST(ObserveTest, ControllerReadyReplicas) {
  std::vector<Json> pods = {
      Pod("demo-controller-0", true, "i"), Pod("demo-controller-1", false, "i"),
      Pod("demo-controller-2", true, "i"), Pod("demo-shard-1-0", true, "i")};
  EXPECT_EQ(ControllerReadyReplicas(Demo(), pods), 2);
}

}  // namespace
}  // namespace shardkv::op
