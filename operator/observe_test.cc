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

TEST(ObserveTest, UnreadyClocksRunOnlyWhileTheShardHasAQuorum) {
  v1::SlotMap map;
  map.set_slot_count(1);
  map.add_shards()->set_id(1);
  map.add_slot_owner(1);
  UnreadyTracker tracker;
  const auto t0 = Clock::now();
  auto observe = [&](bool ready0, bool ready1, Clock::time_point at) {
    std::vector<Json> pods = {Pod("demo-shard-1-0", ready0, "i"),
                              Pod("demo-shard-1-1", ready1, "i"),
                              Pod("demo-shard-1-2", true, "i")};
    return ObserveShards(Demo(), {Set(1, 3)}, pods, &map, tracker, at)[0];
  };
  // Pod 0 down with a quorum: its clock runs.
  observe(false, true, t0);
  EXPECT_EQ(observe(false, true, t0 + seconds(20)).pods[0].unready_for,
            seconds(20));
  // Pod 1 down too: no quorum; nobody's clock runs, the shard's does.
  ShardObservation s = observe(false, false, t0 + seconds(25));
  EXPECT_EQ(s.pods[0].unready_for.count(), 0);
  EXPECT_EQ(s.quorum_lost_for.count(), 0);
  s = observe(false, false, t0 + seconds(65));
  EXPECT_EQ(s.pods[0].unready_for.count(), 0);
  EXPECT_EQ(s.quorum_lost_for, seconds(40));
  // Pod 1 back: pod 0 counts from the quorum's return, not from t0.
  s = observe(false, true, t0 + seconds(70));
  EXPECT_EQ(s.quorum_lost_for.count(), 0);
  EXPECT_EQ(observe(false, true, t0 + seconds(80)).pods[0].unready_for,
            seconds(15));
}

TEST(ObserveTest, ANewPodObjectStartsANewClock) {
  v1::SlotMap map;
  map.set_slot_count(1);
  map.add_shards()->set_id(1);
  map.add_slot_owner(1);
  UnreadyTracker tracker;
  const auto t0 = Clock::now();
  auto observe = [&](const std::string& uid, Clock::time_point at) {
    Json down = Pod("demo-shard-1-2", false, "i");
    down["metadata"]["uid"] = uid;
    std::vector<Json> pods = {Pod("demo-shard-1-0", true, "i"),
                              Pod("demo-shard-1-1", true, "i"), down};
    return ObserveShards(Demo(), {Set(1, 3)}, pods, &map, tracker, at)[0]
        .pods[2];
  };
  observe("a", t0);
  EXPECT_EQ(observe("a", t0 + seconds(50)).unready_for, seconds(50));
  EXPECT_EQ(observe("a", t0 + seconds(50)).uid, "a");
  // Replaced (deleted and created again): the new replica gets its time.
  EXPECT_EQ(observe("b", t0 + seconds(51)).unready_for.count(), 0);
  EXPECT_EQ(observe("b", t0 + seconds(61)).unready_for, seconds(10));
}

TEST(ObserveTest, SeededClockContinuesARecordedOne) {
  UnreadyTracker tracker;
  const auto t0 = Clock::now();
  tracker.Seed("p", t0 - seconds(100));
  EXPECT_EQ(tracker.Track("p", false, t0), seconds(100));
  tracker.Seed("p", t0);  // already tracked: no effect
  EXPECT_EQ(tracker.Track("p", false, t0 + seconds(1)), seconds(101));
  tracker.Seed("q", t0 - seconds(100));
  EXPECT_EQ(tracker.Track("q", true, t0).count(), 0);  // ready: cleared
}

TEST(ObserveTest, ControllerOutdated) {
  Json c0 = Pod("demo-controller-0", true, "shardkv:1");
  Json c1 = Pod("demo-controller-1", true, "shardkv:2");
  for (Json* p : {&c0, &c1}) {
    (*p)["metadata"]["labels"] = {{"shardkv.io/role", "controller"}};
  }
  EXPECT_FALSE(ControllerOutdated(Demo(), {c0}, "shardkv:1"));
  EXPECT_TRUE(ControllerOutdated(Demo(), {c0, c1}, "shardkv:1"));
  // A shard pod on another image is not the controller's business.
  EXPECT_FALSE(ControllerOutdated(
      Demo(), {c0, Pod("demo-shard-1-0", true, "x")}, "shardkv:1"));
}

TEST(ObserveTest, ControllerReadyReplicas) {
  std::vector<Json> pods = {
      Pod("demo-controller-0", true, "i"), Pod("demo-controller-1", false, "i"),
      Pod("demo-controller-2", true, "i"), Pod("demo-shard-1-0", true, "i")};
  EXPECT_EQ(ControllerReadyReplicas(Demo(), pods), 2);
}

TEST(ObserveTest, ControllerGroupClocksRunOnlyWithAQuorum) {
  UnreadyTracker tracker;
  const auto t0 = Clock::now();
  auto observe = [&](bool ready0, bool ready1, Clock::time_point at) {
    std::vector<Json> pods = {Pod("demo-controller-0", ready0, "i"),
                              Pod("demo-controller-1", ready1, "i"),
                              Pod("demo-controller-2", true, "i"),
                              Pod("demo-shard-1-0", false, "i")};
    for (Json& pod : pods) {
      const bool controller =
          pod["metadata"]["name"].get<std::string>().rfind("demo-c", 0) == 0;
      pod["metadata"]["labels"] = {
          {"shardkv.io/role", controller ? "controller" : "shard"}};
      pod["metadata"]["uid"] = "u";
    }
    return ObserveController(Demo(), pods, tracker, at);
  };
  ShardObservation c = observe(false, true, t0);
  EXPECT_EQ(c.id, 0u);
  EXPECT_FALSE(c.in_map);
  ASSERT_EQ(c.pods.size(), 3u);
  EXPECT_EQ(c.pods[1].name, "demo-controller-1");
  EXPECT_EQ(c.ReadyReplicas(), 2);
  c = observe(false, true, t0 + seconds(20));
  EXPECT_EQ(c.pods[0].unready_for, seconds(20));
  EXPECT_TRUE(c.HasQuorum());
  // A second one down: no quorum, the pods' clocks stop, the group's runs.
  c = observe(false, false, t0 + seconds(30));
  EXPECT_EQ(c.pods[0].unready_for.count(), 0);
  c = observe(false, false, t0 + seconds(40));
  EXPECT_EQ(c.quorum_lost_for, seconds(10));
  EXPECT_FALSE(c.HasQuorum());
}

}  // namespace
}  // namespace shardkv::op
