// The controller end to end: real shardkv-node processes (a controller
// group and data shards), joined, rebalanced, slots moved and drained with
// keys written through a small routing helper and every key verified after
// each step; then kill -9 of the controller leader and of the source
// shard's leader in the middle of migrations.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/slot.h"
#include "shardkv/v1/controller.grpc.pb.h"
#include "shardkv/v1/kv.grpc.pb.h"
#include "tests/harness/shard_cluster.h"

namespace shardkv::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kSlots = 16;

std::unique_ptr<ShardCluster> StartGroup(const std::string& name, int nodes,
                                         std::vector<std::string> flags) {
  ClusterOptions options;
  options.name = name;
  options.nodes = nodes;
  options.extra_flags = std::move(flags);
  auto cluster = ShardCluster::Start(options);
  EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
  if (!cluster.ok()) return nullptr;
  // SHARDKV_TEST_KEEP=1 keeps data dirs and logs, to read after a run.
  if (std::getenv("SHARDKV_TEST_KEEP") != nullptr) {
    std::cout << name << ": " << (*cluster)->KeepFiles() << "\n";
  }
  auto leader = (*cluster)->WaitForLeader(seconds(20), (*cluster)->ids());
  EXPECT_TRUE(leader.ok()) << leader.status().ToString();
  return std::move(cluster).value();
}

std::unique_ptr<ShardCluster> StartController(int replicas) {
  return StartGroup(
      "ctl", replicas,
      {"--role", "controller", "--slot-count", std::to_string(kSlots)});
}

std::unique_ptr<ShardCluster> StartShard(uint32_t id, int replicas) {
  return StartGroup("shard" + std::to_string(id), replicas,
                    {"--shard-id", std::to_string(id)});
}

v1::ErrorDetail DetailOf(const grpc::Status& s) {
  v1::ErrorDetail detail;
  detail.ParseFromString(s.error_details());
  return detail;
}

// Calls whichever controller replica leads (retrying UNAVAILABLE).
class ControllerHandle {
 public:
  explicit ControllerHandle(const std::vector<std::string>& addresses) {
    for (const std::string& a : addresses) {
      stubs_.push_back(v1::Controller::NewStub(
          grpc::CreateChannel(a, grpc::InsecureChannelCredentials())));
    }
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::Controller::Stub::*method)(
                        grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response) {
    auto deadline = Clock::now() + seconds(20);
    grpc::Status s;
    for (size_t attempt = 0; Clock::now() < deadline; ++attempt) {
      size_t i = (leader_ + attempt) % stubs_.size();
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + seconds(2));
      s = (stubs_[i].get()->*method)(&context, request, response);
      if (s.ok()) {
        leader_ = i;
        return s;
      }
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
          s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return s;
      }
      if (i + 1 == stubs_.size()) std::this_thread::sleep_for(milliseconds(50));
    }
    return s;
  }

  v1::SlotMap Map() {
    v1::SlotMap map;
    grpc::Status s =
        Call(&v1::Controller::Stub::GetMap, v1::GetMapRequest(), &map);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return map;
  }

  // Polls the map until `done` holds; fails the test after `timeout`.
  v1::SlotMap WaitFor(const std::string& what,
                      const std::function<bool(const v1::SlotMap&)>& done,
                      milliseconds timeout = seconds(60)) {
    auto deadline = Clock::now() + timeout;
    v1::SlotMap map;
    while (Clock::now() < deadline) {
      map = Map();
      if (done(map)) return map;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; map "
                  << map.ShortDebugString();
    return map;
  }

  v1::Controller::Stub* stub(size_t i) { return stubs_[i].get(); }

 private:
  std::vector<std::unique_ptr<v1::Controller::Stub>> stubs_;
  size_t leader_ = 0;
};

bool Settled(const v1::SlotMap& map) {
  return map.migrations().empty() && !map.rebalancing() &&
         map.pending_assignments().empty();
}

uint32_t Owned(const v1::SlotMap& map, uint32_t shard) {
  uint32_t n = 0;
  for (uint32_t o : map.slot_owner()) n += o == shard;
  return n;
}

// Routes each key by slot to the owner's leader, following the map.
class RoutedKv {
 public:
  explicit RoutedKv(ControllerHandle* controller) : controller_(controller) {}

  grpc::Status Set(const std::string& key, const std::string& value) {
    v1::SetRequest request;
    request.set_key(key);
    request.set_value(value);
    v1::SetResponse response;
    return Route(key, [&](v1::KV::Stub* stub, grpc::ClientContext* c) {
      return stub->Set(c, request, &response);
    });
  }

  grpc::Status Get(const std::string& key, v1::GetResponse* response) {
    v1::GetRequest request;
    request.set_key(key);
    return Route(key, [&](v1::KV::Stub* stub, grpc::ClientContext* c) {
      return stub->Get(c, request, response);
    });
  }

 private:
  using Rpc = std::function<grpc::Status(v1::KV::Stub*, grpc::ClientContext*)>;

  grpc::Status Route(const std::string& key, const Rpc& rpc) {
    auto deadline = Clock::now() + seconds(30);
    grpc::Status s;
    for (int attempt = 0; Clock::now() < deadline; ++attempt) {
      if (attempt == 0 || !s.ok()) map_ = controller_->Map();
      uint32_t owner =
          map_.slot_owner(static_cast<int>(SlotOf(key, map_.slot_count())));
      const v1::Shard* shard = nullptr;
      for (const v1::Shard& sh : map_.shards()) {
        if (sh.id() == owner) shard = &sh;
      }
      if (shard == nullptr)
        return grpc::Status(grpc::StatusCode::INTERNAL, "slot without owner");
      const std::string& address =
          shard->members(attempt % shard->members_size()).address();
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + seconds(2));
      s = rpc(Stub(address), &context);
      if (s.ok()) return s;
      bool retry = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                   DetailOf(s).reason() == v1::WRONG_SHARD;
      if (!retry) return s;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return s;
  }

  v1::KV::Stub* Stub(const std::string& address) {
    auto& stub = stubs_[address];
    if (!stub) {
      stub = v1::KV::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    }
    return stub.get();
  }

  ControllerHandle* const controller_;
  v1::SlotMap map_;
  std::map<std::string, std::unique_ptr<v1::KV::Stub>> stubs_;
};

v1::JoinShardRequest JoinRequest(uint32_t id, ShardCluster& shard) {
  v1::JoinShardRequest request;
  request.set_shard_id(id);
  for (NodeId node : shard.ids()) {
    v1::Member* m = request.add_members();
    m->set_id(node);
    m->set_address(shard.address(node));
  }
  return request;
}

std::string ValueOf(int i, size_t size) {
  std::string v = "value-" + std::to_string(i) + "-";
  v.resize(std::max(size, v.size()), 'x');
  return v;
}

void WriteKeys(RoutedKv& kv, int n, size_t value_size) {
  for (int i = 0; i < n; ++i) {
    grpc::Status s = kv.Set("key-" + std::to_string(i), ValueOf(i, value_size));
    ASSERT_TRUE(s.ok()) << "key-" << i << ": " << s.error_message();
  }
}

void VerifyKeys(RoutedKv& kv, int n, size_t value_size) {
  for (int i = 0; i < n; ++i) {
    v1::GetResponse r;
    grpc::Status s = kv.Get("key-" + std::to_string(i), &r);
    ASSERT_TRUE(s.ok()) << "key-" << i << ": " << s.error_message();
    ASSERT_TRUE(r.found()) << "key-" << i << " lost";
    ASSERT_EQ(r.value(), ValueOf(i, value_size)) << "key-" << i;
  }
}

// Joins both shards and assigns every slot; returns the settled map.
v1::SlotMap JoinAndAssign(ControllerHandle& ctl, ShardCluster& one,
                          ShardCluster& two) {
  v1::SlotMap map;
  EXPECT_TRUE(
      ctl.Call(&v1::Controller::Stub::JoinShard, JoinRequest(1, one), &map)
          .ok());
  EXPECT_TRUE(
      ctl.Call(&v1::Controller::Stub::JoinShard, JoinRequest(2, two), &map)
          .ok());
  v1::RebalanceResponse rebalanced;
  grpc::Status s = ctl.Call(&v1::Controller::Stub::Rebalance,
                            v1::RebalanceRequest(), &rebalanced);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rebalanced.assigned(), kSlots);
  EXPECT_TRUE(rebalanced.moves().empty());
  return ctl.WaitFor("assignments confirmed", Settled);
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// Waits until a migration has reached COPYING (or later), so a kill lands
// in the middle of one.
v1::SlotMap WaitForMigrationUnderWay(ControllerHandle& ctl) {
  return ctl.WaitFor("a migration under way", [](const v1::SlotMap& m) {
    for (const v1::Migration& mig : m.migrations()) {
      if (mig.phase() >= v1::MIGRATION_COPYING) return true;
    }
    return false;
  });
}

TEST(ControllerTest, JoinRebalanceMoveDrainRemoveKeepsEveryKey) {
  auto controller = StartController(1);
  auto one = StartShard(1, 1);
  auto two = StartShard(2, 1);
  ASSERT_TRUE(controller && one && two);
  ControllerHandle ctl(controller->addresses());
  v1::SlotMap map = ctl.WaitFor(
      "the map", [](const v1::SlotMap& m) { return m.slot_count() == kSlots; });
  EXPECT_EQ(map.max_concurrent_migrations(), 16u);

  // A watcher sees the current map at once, then every change.
  grpc::ClientContext watch_context;
  v1::WatchMapRequest watch_request;
  watch_request.set_after_epoch(0);
  auto watch = ctl.stub(0)->WatchMap(&watch_context, watch_request);
  v1::SlotMap watched;
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_GE(watched.epoch(), 1u);

  // Bad requests get clear errors and change nothing.
  v1::JoinShardRequest bad = JoinRequest(0, *one);
  v1::SlotMap ignored;
  EXPECT_EQ(
      ctl.Call(&v1::Controller::Stub::JoinShard, bad, &ignored).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  v1::RebalanceResponse none;
  EXPECT_EQ(
      ctl.Call(&v1::Controller::Stub::Rebalance, v1::RebalanceRequest(), &none)
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);

  map = JoinAndAssign(ctl, *one, *two);
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_GT(watched.epoch(), 1u);
  EXPECT_EQ(Owned(map, 1), kSlots / 2);
  EXPECT_EQ(Owned(map, 2), kSlots / 2);
  v1::RemoveShardRequest remove;
  remove.set_shard_id(2);
  EXPECT_EQ(ctl.Call(&v1::Controller::Stub::RemoveShard, remove, &ignored)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::MoveSlotRequest out_of_range;
  out_of_range.set_slot(kSlots);
  out_of_range.set_to_shard(1);
  v1::MoveSlotResponse moved;
  EXPECT_EQ(ctl.Call(&v1::Controller::Stub::MoveSlot, out_of_range, &moved)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Keys everywhere first (empty shards are a slow case of the node's
  // export scan; see the report), then every step verifies all of them.
  RoutedKv kv(&ctl);
  constexpr int kKeys = 400;
  WriteKeys(kv, kKeys, 100);
  VerifyKeys(kv, kKeys, 100);

  // Drain shard 2, then give its slots back by rebalancing.
  v1::DrainShardRequest drain;
  drain.set_shard_id(2);
  auto start = Clock::now();
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  map = ctl.WaitFor("shard 2 drained", [](const v1::SlotMap& m) {
    return Settled(m) && Owned(m, 2) == 0;
  });
  std::cout << "[measured] drained " << kSlots / 2 << " slots (" << kKeys
            << " keys over the cluster) in " << MillisSince(start) << " ms\n";
  EXPECT_EQ(map.totals().slots_moved(), kSlots / 2);
  v1::CancelDrainRequest cancel;
  cancel.set_shard_id(2);
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::CancelDrain, cancel, &map).ok());
  v1::RebalanceRequest dry;
  dry.set_dry_run(true);
  v1::RebalanceResponse plan;
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::Rebalance, dry, &plan).ok());
  EXPECT_EQ(plan.moves_size(), static_cast<int>(kSlots / 2));
  EXPECT_FALSE(plan.map().rebalancing());
  start = Clock::now();
  ASSERT_TRUE(
      ctl.Call(&v1::Controller::Stub::Rebalance, v1::RebalanceRequest(), &plan)
          .ok());
  map = ctl.WaitFor("rebalanced", [](const v1::SlotMap& m) {
    return Settled(m) && Owned(m, 2) == kSlots / 2;
  });
  std::cout << "[measured] rebalanced " << kSlots / 2 << " slots in "
            << MillisSince(start) << " ms\n";

  VerifyKeys(kv, kKeys, 100);

  // Move one slot, then drain shard 2 again and remove it.
  v1::MoveSlotRequest move;
  move.set_slot(0);
  move.set_to_shard(map.slot_owner(0) == 1 ? 2 : 1);
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::MoveSlot, move, &moved).ok());
  EXPECT_EQ(moved.migration().slot(), 0u);
  map = ctl.WaitFor("slot 0 moved", [&](const v1::SlotMap& m) {
    return Settled(m) && m.slot_owner(0) == move.to_shard();
  });
  VerifyKeys(kv, kKeys, 100);
  start = Clock::now();
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  map = ctl.WaitFor("shard 2 drained with data", [](const v1::SlotMap& m) {
    return Settled(m) && Owned(m, 2) == 0;
  });
  std::cout << "[measured] drained shard 2 (" << kKeys
            << " keys over the cluster) in " << MillisSince(start) << " ms\n";
  VerifyKeys(kv, kKeys, 100);
  // A drain cancelled at once: migrations before the freeze are aborted on
  // both shards, later ones finish; either way no key is lost.
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::CancelDrain, cancel, &map).ok());
  ASSERT_TRUE(
      ctl.Call(&v1::Controller::Stub::Rebalance, v1::RebalanceRequest(), &plan)
          .ok());
  ctl.WaitFor("rebalanced again", [](const v1::SlotMap& m) {
    return Settled(m) && Owned(m, 2) == kSlots / 2;
  });
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  WaitForMigrationUnderWay(ctl);
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::CancelDrain, cancel, &map).ok());
  map = ctl.WaitFor("cancelled drain settled", Settled);
  std::cout << "cancelled drain: " << map.totals().cancelled()
            << " migrations aborted, shard 2 owns " << Owned(map, 2) << "\n";
  VerifyKeys(kv, kKeys, 100);
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  map = ctl.WaitFor("shard 2 drained for removal", [](const v1::SlotMap& m) {
    return Settled(m) && Owned(m, 2) == 0;
  });
  VerifyKeys(kv, kKeys, 100);
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::RemoveShard, remove, &map).ok());
  EXPECT_EQ(map.shards_size(), 1);
  VerifyKeys(kv, kKeys, 100);
  watch_context.TryCancel();
  watch->Finish();
}

TEST(ControllerTest, ControllerLeaderKilledMidMigrationResumes) {
  auto controller = StartController(3);
  auto one = StartShard(1, 1);
  auto two = StartShard(2, 1);
  ASSERT_TRUE(controller && one && two);
  ControllerHandle ctl(controller->addresses());
  ctl.WaitFor("the map",
              [](const v1::SlotMap& m) { return m.slot_count() == kSlots; });
  JoinAndAssign(ctl, *one, *two);
  RoutedKv kv(&ctl);
  constexpr int kKeys = 1000;
  WriteKeys(kv, kKeys, 1000);

  v1::DrainShardRequest drain;
  drain.set_shard_id(2);
  v1::SlotMap map;
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  map = WaitForMigrationUnderWay(ctl);
  auto leader = controller->WaitForLeader(seconds(5), controller->ids());
  ASSERT_TRUE(leader.ok());
  // A follower serves the map but refuses mutations with a leader hint.
  size_t follower = *leader == 1 ? 1 : 0;  // stub index of another replica
  {
    grpc::ClientContext context;
    v1::SlotMap answer;
    grpc::Status s = ctl.stub(follower)->DrainShard(&context, drain, &answer);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(DetailOf(s).reason(), v1::NOT_LEADER);
    EXPECT_EQ(DetailOf(s).leader_address(), controller->address(*leader));
    grpc::ClientContext get_context;
    EXPECT_TRUE(ctl.stub(follower)
                    ->GetMap(&get_context, v1::GetMapRequest(), &answer)
                    .ok());
    EXPECT_EQ(answer.slot_count(), kSlots);
  }
  std::cout << "killing controller leader " << *leader << " at epoch "
            << map.epoch() << " with " << map.migrations_size()
            << " migrations in flight\n";
  ASSERT_TRUE(controller->Kill(*leader).ok());
  map = ctl.WaitFor(
      "drain finished under the new leader",
      [](const v1::SlotMap& m) { return Settled(m) && Owned(m, 2) == 0; });
  EXPECT_EQ(map.totals().slots_moved(), kSlots / 2);
  VerifyKeys(kv, kKeys, 1000);
  ASSERT_TRUE(controller->Restart(*leader).ok());
}

TEST(ControllerTest, SourceLeaderKilledMidCopyLosesNoKey) {
  auto controller = StartController(1);
  auto one = StartShard(1, 3);
  auto two = StartShard(2, 1);
  ASSERT_TRUE(controller && one && two);
  ControllerHandle ctl(controller->addresses());
  ctl.WaitFor("the map",
              [](const v1::SlotMap& m) { return m.slot_count() == kSlots; });
  JoinAndAssign(ctl, *one, *two);
  RoutedKv kv(&ctl);
  constexpr int kKeys = 2000;
  WriteKeys(kv, kKeys, 2000);

  v1::DrainShardRequest drain;
  drain.set_shard_id(1);
  v1::SlotMap map;
  auto start = Clock::now();
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::DrainShard, drain, &map).ok());
  WaitForMigrationUnderWay(ctl);
  auto leader = one->WaitForLeader(seconds(5), one->ids());
  ASSERT_TRUE(leader.ok());
  ASSERT_TRUE(one->Kill(*leader).ok());
  map = ctl.WaitFor(
      "drain of shard 1 finished",
      [](const v1::SlotMap& m) { return Settled(m) && Owned(m, 1) == 0; },
      seconds(120));
  std::cout << "[measured] drained shard 1 (~" << kKeys / 2
            << " keys of 2 KB) with its leader killed, in "
            << MillisSince(start) << " ms; bytes moved "
            << map.totals().bytes_moved() << "\n";
  VerifyKeys(kv, kKeys, 2000);
  ASSERT_TRUE(one->Restart(*leader).ok());
}

// One slot holding ~16 MB moves between shards; reports the copy rate.
TEST(ControllerTest, LoadedSlotMovesWithEveryKey) {
  auto controller = StartController(1);
  auto one = StartShard(1, 1);
  auto two = StartShard(2, 1);
  ASSERT_TRUE(controller && one && two);
  ControllerHandle ctl(controller->addresses());
  ctl.WaitFor("the map",
              [](const v1::SlotMap& m) { return m.slot_count() == kSlots; });
  v1::SlotMap map = JoinAndAssign(ctl, *one, *two);
  RoutedKv kv(&ctl);
  constexpr uint32_t kSlot = 3;
  constexpr size_t kValueBytes = 8192;
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 2000; ++i) {
    std::string key = "loaded-" + std::to_string(i);
    if (SlotOf(key, kSlots) == kSlot) keys.push_back(key);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    grpc::Status s = kv.Set(keys[i], ValueOf(static_cast<int>(i), kValueBytes));
    ASSERT_TRUE(s.ok()) << keys[i] << ": " << s.error_message();
  }
  v1::MoveSlotRequest move;
  move.set_slot(kSlot);
  move.set_to_shard(map.slot_owner(kSlot) == 1 ? 2 : 1);
  v1::MoveSlotResponse moved;
  auto start = Clock::now();
  ASSERT_TRUE(ctl.Call(&v1::Controller::Stub::MoveSlot, move, &moved).ok());
  map = ctl.WaitFor("the loaded slot moved", [&](const v1::SlotMap& m) {
    return Settled(m) && m.slot_owner(kSlot) == move.to_shard();
  });
  int64_t ms = MillisSince(start);
  EXPECT_EQ(map.totals().keys_moved(), keys.size());
  std::cout << "[measured] moved one slot of " << keys.size() << " keys, "
            << map.totals().bytes_moved() << " bytes in " << ms << " ms ("
            << map.totals().bytes_moved() / 1000.0 / std::max<int64_t>(ms, 1)
            << " MB/s)\n";
  for (size_t i = 0; i < keys.size(); ++i) {
    v1::GetResponse r;
    grpc::Status s = kv.Get(keys[i], &r);
    ASSERT_TRUE(s.ok()) << keys[i] << ": " << s.error_message();
    ASSERT_TRUE(r.found()) << keys[i] << " lost";
    ASSERT_EQ(r.value(), ValueOf(static_cast<int>(i), kValueBytes));
  }
}

}  // namespace
}  // namespace shardkv::test
