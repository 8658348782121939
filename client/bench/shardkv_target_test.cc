// ShardkvTarget against in-process fake shards and a fake controller
// (client/fake_*.h): keys go to the shard owning their slot, batched per
// shard, a WRONG_SHARD refreshes the map and the request succeeds at the new
// owner, SLOT_MIGRATING is waited out, and a node without a controller is
// served unsharded as before.
#include "client/bench/shardkv_target.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "client/fake_controller_server.h"
#include "client/fake_shard_server.h"
#include "client/slot_map_cache.h"
#include "common/slot.h"

namespace shardkv::bench {
namespace {

using client::testing::FakeControllerServer;
using client::testing::FakeShardServer;
using client::testing::MakeSlotMap;
using std::chrono::milliseconds;

constexpr uint32_t kSlots = 16;

// What a fake shard answers for `key` (OK or a scripted failure).
using Outcome = std::function<grpc::Status(const std::string& key)>;

grpc::Status WrongShard(uint64_t epoch) {
  v1::ErrorDetail d;
  d.set_reason(v1::WRONG_SHARD);
  d.set_epoch(epoch);
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "wrong shard",
                      d.SerializeAsString());
}

// Answers Get, Set and Batch with `outcome` per key; a batch call is held
// `batch_delay` so concurrent requests queue up behind it in the client.
void Serve(FakeShardServer& s, Outcome outcome,
           milliseconds batch_delay = milliseconds(0)) {
  s.get.SetFallback([outcome](const v1::GetRequest& r, v1::GetResponse*) {
    return outcome(r.key());
  });
  s.set.SetFallback([outcome](const v1::SetRequest& r, v1::SetResponse* out) {
    out->set_version(1);
    return outcome(r.key());
  });
  s.batch.SetFallback([outcome, batch_delay](const v1::BatchRequest& r,
                                             v1::BatchResponse* out) {
    std::this_thread::sleep_for(batch_delay);
    for (const v1::BatchItem& item : r.items()) {
      const std::string& key =
          item.has_get() ? item.get().key() : item.set().key();
      grpc::Status st = outcome(key);
      v1::BatchItemResult* res = out->add_results();
      res->set_code(st.error_code());
      res->set_message(st.error_message());
      (void)res->mutable_detail()->ParseFromString(st.error_details());
      if (item.has_set()) res->mutable_set()->set_version(1);
    }
    return grpc::Status::OK;
  });
}

// OK for the keys `shard` owns in `map`, WRONG_SHARD otherwise.
Outcome OwnerCheck(const v1::SlotMap& map, uint32_t shard) {
  return [map, shard](const std::string& key) {
    return client::OwnerOfKey(map, key) == shard ? grpc::Status::OK
                                                 : WrongShard(map.epoch());
  };
}

void ServeMap(FakeControllerServer& c, const v1::SlotMap& map) {
  c.get_map.SetFallback([map](auto&, v1::SlotMap* out) {
    *out = map;
    return grpc::Status::OK;
  });
}

std::unique_ptr<ShardkvTarget> Connected(std::vector<std::string> endpoints,
                                         int batch, int clients = 64) {
  ShardkvTargetOptions o;
  o.endpoints = std::move(endpoints);
  o.clients = clients;
  o.timeout = milliseconds(3000);
  o.batch_in_flight = batch;
  o.retry.initial_backoff = milliseconds(5);
  o.retry.max_backoff = milliseconds(40);
  auto t = std::make_unique<ShardkvTarget>(o);
  Status st = t->Connect();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return t;
}

// Starts every op at once (client i runs op i) and waits for all of them.
std::vector<Status> RunAll(
    ShardkvTarget& target,
    const std::vector<std::pair<OpType, std::string>>& ops) {
  std::vector<std::promise<Status>> results(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    target.Start(static_cast<int>(i), ops[i].first, ops[i].second, "v",
                 [&results, i](const Status& s) { results[i].set_value(s); });
  }
  std::vector<Status> out;
  for (auto& r : results) out.push_back(r.get_future().get());
  return out;
}

std::vector<std::pair<OpType, std::string>> Writes(int n, const char* prefix) {
  std::vector<std::pair<OpType, std::string>> ops;
  for (int i = 0; i < n; ++i) {
    ops.emplace_back(i % 2 ? OpType::kRead : OpType::kWrite,
                     prefix + std::to_string(i));
  }
  return ops;
}

TEST(ShardkvTargetTest, SendsEachKeyToTheShardOwningItsSlot) {
  FakeShardServer a, b;
  FakeControllerServer ctl;
  auto map = MakeSlotMap(1, kSlots, {1, 2}, {{a.address()}, {b.address()}});
  ServeMap(ctl, map);
  Serve(a, OwnerCheck(map, 1));
  Serve(b, OwnerCheck(map, 2));
  auto target = Connected({ctl.address()}, /*batch=*/0);
  ASSERT_TRUE(target->sharded());
  for (const Status& s : RunAll(*target, Writes(40, "key"))) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  size_t at_a = a.get.requests().size() + a.set.requests().size();
  size_t at_b = b.get.requests().size() + b.set.requests().size();
  EXPECT_EQ(at_a + at_b, 40u);  // no retries: every key went right
  EXPECT_GT(at_a, 0u);
  EXPECT_GT(at_b, 0u);
  for (const auto& r : a.set.requests()) {
    EXPECT_EQ(client::OwnerOfKey(map, r.key()), 1u) << r.key();
  }
  ShardkvRoutingStats stats = target->routing_stats();
  EXPECT_EQ(stats.wrong_shard, 0u);
  EXPECT_EQ(stats.shards, 2u);
  EXPECT_EQ(stats.replicas_used, 2u);
}

TEST(ShardkvTargetTest, BatchesPerShardLeader) {
  FakeShardServer a, b;
  FakeControllerServer ctl;
  auto map = MakeSlotMap(1, kSlots, {1, 2}, {{a.address()}, {b.address()}});
  ServeMap(ctl, map);
  // Slow batches: while one is out, the other requests queue behind it.
  Serve(a, OwnerCheck(map, 1), milliseconds(100));
  Serve(b, OwnerCheck(map, 2), milliseconds(100));
  auto target = Connected({ctl.address()}, /*batch=*/1);
  for (const Status& s : RunAll(*target, Writes(40, "key"))) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_TRUE(a.set.requests().empty());  // everything went as KV.Batch
  size_t items = 0;
  for (auto* shard : {&a, &b}) {
    uint32_t id = shard == &a ? 1 : 2;
    size_t largest = 0;
    for (const v1::BatchRequest& r : shard->batch.requests()) {
      largest = std::max(largest, static_cast<size_t>(r.items_size()));
      items += static_cast<size_t>(r.items_size());
      for (const v1::BatchItem& item : r.items()) {
        const std::string& key =
            item.has_get() ? item.get().key() : item.set().key();
        EXPECT_EQ(client::OwnerOfKey(map, key), id) << key;
      }
    }
    // One call in flight per shard: the rest left together in a batch.
    EXPECT_GT(largest, 1u) << "shard " << id;
  }
  EXPECT_EQ(items, 40u);
  EXPECT_EQ(target->routing_stats().wrong_shard, 0u);
}

TEST(ShardkvTargetTest, WrongShardRefreshesTheMapAndRetriesAtTheNewOwner) {
  for (int batch : {0, 2}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    FakeShardServer a, b;
    FakeControllerServer ctl;
    auto old_map = MakeSlotMap(1, kSlots, {1}, {{a.address()}, {b.address()}});
    auto new_map = MakeSlotMap(2, kSlots, {2}, {{a.address()}, {b.address()}});
    ServeMap(ctl, old_map);
    auto target = Connected({ctl.address()}, batch);
    // Every slot moved to shard 2 behind the target's back (nothing on the
    // watch stream: only a GetMap can tell).
    ServeMap(ctl, new_map);
    Serve(a, OwnerCheck(new_map, 1));
    Serve(b, OwnerCheck(new_map, 2));
    for (const Status& s : RunAll(*target, Writes(20, "moved"))) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    ShardkvRoutingStats stats = target->routing_stats();
    EXPECT_EQ(stats.map_epoch, 2u);
    EXPECT_GE(stats.wrong_shard, 1u);
    EXPECT_LE(stats.wrong_shard, 20u);
    // Requests that hit the stale map together shared refreshes.
    EXPECT_GE(stats.map_refreshes, 1u);
    EXPECT_LT(stats.map_refreshes, 20u);
    // Later requests go straight to the new owner.
    ShardkvRoutingStats before = stats;
    for (const Status& s : RunAll(*target, Writes(10, "later"))) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_EQ(target->routing_stats().wrong_shard, before.wrong_shard);
  }
}

TEST(ShardkvTargetTest, WrongShardKeepsTheWritesRequestId) {
  FakeShardServer a, b;
  FakeControllerServer ctl;
  auto old_map = MakeSlotMap(1, kSlots, {1}, {{a.address()}, {b.address()}});
  auto new_map = MakeSlotMap(2, kSlots, {2}, {{a.address()}, {b.address()}});
  ServeMap(ctl, old_map);
  auto target = Connected({ctl.address()}, /*batch=*/0);
  ServeMap(ctl, new_map);
  Serve(a, OwnerCheck(new_map, 1));
  Serve(b, OwnerCheck(new_map, 2));
  ASSERT_TRUE(RunAll(*target, {{OpType::kWrite, "k"}})[0].ok());
  auto at_a = a.set.requests();
  auto at_b = b.set.requests();
  ASSERT_EQ(at_a.size(), 1u);
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_a[0].request_id().client_id(), at_b[0].request_id().client_id());
  EXPECT_EQ(at_a[0].request_id().sequence(), at_b[0].request_id().sequence());
}

TEST(ShardkvTargetTest, SlotMigratingIsWaitedOut) {
  FakeShardServer a;
  FakeControllerServer ctl;
  ServeMap(ctl, MakeSlotMap(1, kSlots, {1}, {{a.address()}}));
  std::atomic<int> frozen{3};
  Serve(a, [&frozen](const std::string&) {
    if (frozen.fetch_sub(1) > 0) {
      return client::testing::Failure(grpc::StatusCode::UNAVAILABLE,
                                      "slot migrating", v1::SLOT_MIGRATING);
    }
    return grpc::Status::OK;
  });
  auto target = Connected({ctl.address()}, /*batch=*/0);
  Status s = RunAll(*target, {{OpType::kWrite, "k"}})[0];
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(a.set.requests().size(), 4u);
  EXPECT_EQ(target->routing_stats().slot_migrating, 3u);
}

TEST(ShardkvTargetTest, AShardThatNeverAnswersFailsAtTheDeadline) {
  FakeShardServer a;
  FakeControllerServer ctl;
  ServeMap(ctl, MakeSlotMap(1, kSlots, {1}, {{a.address()}}));
  ShardkvTargetOptions o;
  o.endpoints = {ctl.address()};
  o.timeout = milliseconds(400);
  o.retry.initial_backoff = milliseconds(5);
  o.retry.max_backoff = milliseconds(40);
  ShardkvTarget target(o);
  ASSERT_TRUE(target.Connect().ok());
  a.Shutdown();
  auto t0 = std::chrono::steady_clock::now();
  Status s = RunAll(target, {{OpType::kWrite, "k"}})[0];
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
  EXPECT_GE(target.routing_stats().unreachable, 1u);
}

TEST(ShardkvTargetTest, ANodeWithoutControllerIsServedUnsharded) {
  FakeShardServer follower, leader;
  for (FakeShardServer* s : {&follower, &leader}) {
    s->status.SetFallback([&](auto&, v1::StatusResponse* r) {
      r->set_node_role("shard");
      r->set_leader_address(leader.address());
      return grpc::Status::OK;
    });
  }
  Serve(leader, [](const std::string&) { return grpc::Status::OK; });
  follower.set.SetFallback([&](auto&, auto*) {
    return client::testing::NotLeader(2, leader.address());
  });
  auto target = Connected({follower.address(), leader.address()}, 0);
  EXPECT_FALSE(target->sharded());
  for (const Status& s : RunAll(*target, Writes(10, "key"))) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Connect found the leader: nothing went to the follower.
  EXPECT_TRUE(follower.set.requests().empty());
  EXPECT_EQ(leader.set.requests().size() + leader.get.requests().size(), 10u);
  EXPECT_EQ(target->routing_stats().shards, 0u);
}

}  // namespace
}  // namespace shardkv::bench
