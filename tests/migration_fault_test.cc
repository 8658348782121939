// Migration under kill -9, at every step: a shard drains (8 slots move as
// one batch migration: the map's default max_slots_per_migration is 64)
// under a recorded workload of reads, writes, deletes, TTL
// writes and conditional writes, while the SOURCE shard's leader, the
// TARGET shard's leader or the CONTROLLER leader dies at one step of the
// protocol (PREPARING, COPYING, FREEZING, SWITCHED, cleanup). Every case
// ends with: the drain finished, the history linearizable (final reads of
// every workload key included), every key of a book written before the
// drain intact, and no replica serving a slot its shard does not own.
//
// The deaths are failpoints (crash after the step applied, before it is
// answered; see common/failpoint.h), configured on every replica of the
// group, so a new leader that redoes the step dies too, until the group
// has lost its quorum; the test restarts whatever died, without the
// failpoint. Two cases cannot be reached by a failpoint of the dying
// group; they hold the controller in the phase with a sleep failpoint and
// kill -9 the leader from here (source: SWITCHED recorded, target not yet
// activated; target: activated, source not yet released). A last case
// cancels the drain while the batch is held in COPYING: both shards abort
// every slot of it and the source keeps them. Built only with
// SHARDKV_FAILPOINTS=ON.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "client/controller_client.h"
#include "shardkv/internal/shard_control.grpc.pb.h"
#include "tests/harness/checks.h"
#include "tests/migration_test_util.h"

namespace shardkv::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Group { kController, kSource, kTarget };

struct KillCase {
  const char* name;  // role_step, the gtest parameter name
  Group dies;
  // Failpoints of the group that dies (crash), or of the controller (a
  // sleep holding a phase) when `kill_in_phase` is set.
  const char* failpoints;
  // Kill the dying group's leader from here once the map shows a
  // migration in this phase (0: the failpoint alone kills).
  v1::MigrationPhase kill_in_phase;
};

constexpr v1::MigrationPhase kNoPhase = v1::MigrationPhase(0);

const KillCase kCases[] = {
    // The controller dies after a phase's shard steps, before recording
    // the next phase (the new leader redoes them), or between them.
    {"controller_PREPARING", Group::kController,
     "migration.MIGRATION_PREPARING.before_record=crash", kNoPhase},
    {"controller_COPYING", Group::kController,
     "migration.MIGRATION_COPYING.before_record=crash", kNoPhase},
    {"controller_FREEZING", Group::kController,
     "migration.MIGRATION_FREEZING.before_record=crash", kNoPhase},
    {"controller_SWITCHED", Group::kController,
     "migration.MIGRATION_FREEZING.after_record=crash", kNoPhase},
    {"controller_cleanup", Group::kController,
     "migration.SWITCHED.after_activate=crash", kNoPhase},
    // The source dies having applied a step it did not answer.
    {"source_PREPARING", Group::kSource, "slot.StartExport.after_apply=crash",
     kNoPhase},
    {"source_COPYING", Group::kSource, "slot.ExportSlot.after_chunk=crash",
     kNoPhase},
    {"source_FREEZING", Group::kSource, "slot.Freeze.after_apply=crash",
     kNoPhase},
    {"source_SWITCHED", Group::kSource,
     "migration.MIGRATION_FREEZING.after_record=sleep(1500)",
     v1::MIGRATION_SWITCHED},
    {"source_cleanup", Group::kSource, "slot.Release.after_apply=crash",
     kNoPhase},
    // The target dies having applied a step it did not answer.
    {"target_PREPARING", Group::kTarget, "slot.StartImport.after_apply=crash",
     kNoPhase},
    {"target_COPYING", Group::kTarget, "slot.Import.after_apply=crash",
     kNoPhase},
    {"target_FREEZING", Group::kTarget, "slot.ImportFinal.after_apply=crash",
     kNoPhase},
    {"target_SWITCHED", Group::kTarget, "slot.Activate.after_apply=crash",
     kNoPhase},
    {"target_cleanup", Group::kTarget,
     "migration.SWITCHED.after_activate=sleep(1500)", v1::MIGRATION_SWITCHED},
};

constexpr uint32_t kSource = 2;
constexpr uint32_t kTarget = 1;

class MigrationFaultTest : public ::testing::TestWithParam<KillCase> {
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

  ShardCluster& GroupOf(Group g) {
    if (g == Group::kController) return cluster_->controller();
    return cluster_->shard(g == Group::kSource ? kSource : kTarget);
  }

  // Restarts every replica of `group` with `failpoints` in its
  // environment (read once at start-up), then without them for anything
  // started later.
  void RestartWithFailpoints(ShardCluster& group, const char* failpoints) {
    for (NodeId n : group.ids()) ASSERT_TRUE(group.Stop(n).ok());
    setenv("SHARDKV_FAILPOINTS", failpoints, 1);
    for (NodeId n : group.ids()) ASSERT_TRUE(group.Restart(n).ok());
    unsetenv("SHARDKV_FAILPOINTS");
    ASSERT_TRUE(group.WaitForLeader(milliseconds(15000), group.ids()).ok());
  }

  // Two shards of three replicas over 16 slots, `controllers` controller
  // replicas; the cluster goes to cluster_.
  void StartCluster(const std::string& name, int controllers) {
    ShardedClusterOptions options;
    options.name = name;
    options.controllers = controllers;
    options.shards = 2;
    options.replicas = 3;
    options.slot_count = 16;
    auto started = ShardedCluster::Start(options, milliseconds(60000));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    cluster_ = std::move(started).value();
  }

  // After the cluster settled on `settled`: final reads joined to the
  // history, which must be linearizable (kept at `history_path`), every
  // key of `book` intact, and no node serving a slot it does not own.
  void CheckEverything(KeyBook& book, const v1::SlotMap& settled,
                       const std::string& history_path) {
    Status s =
        RecordFinalReads(cluster_->endpoints(), workload_->Keys(), &history_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = CheckLinearizable(history_, history_path);
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = book.VerifyAll();
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> keys = book.keys();
    for (const std::string& k : workload_->Keys()) keys.push_back(k);
    s = CheckNoForeignSlotServed(*cluster_, settled, keys);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<ShardedCluster> cluster_;
  lincheck::History history_;
  std::unique_ptr<Workload> workload_;
};

TEST_P(MigrationFaultTest, DrainSurvivesKillAtStep) {
  const KillCase& kc = GetParam();
  StartCluster(std::string("migfault-") + kc.name,
               kc.dies == Group::kController ? 3 : 1);
  if (HasFatalFailure()) return;

  KeyBook book(cluster_->endpoints(), 300, 512);
  ASSERT_TRUE(book.WriteAll().ok());
  ShardCluster& group = GroupOf(kc.dies);
  ShardCluster& failpoint_group =
      kc.kill_in_phase == kNoPhase ? group : cluster_->controller();
  RestartWithFailpoints(failpoint_group, kc.failpoints);
  if (HasFatalFailure()) return;

  workload_ = std::make_unique<Workload>(
      cluster_->endpoints(),
      MigrationWorkload(std::hash<std::string>()(kc.name)), &history_);
  ASSERT_TRUE(workload_->Start().ok());
  std::this_thread::sleep_for(milliseconds(1000));
  ASSERT_TRUE(cluster_->DrainShard(kSource).ok());

  // Until the drain is done: restart what the failpoints killed; in the
  // held-phase cases, kill -9 the dying group's leader once.
  int deaths = 0;
  bool killed = kc.kill_in_phase == kNoPhase;
  // When each migration was first seen in kill_in_phase: the kill waits
  // 300 ms into the phase (inside the controller's 1.5 s hold), past the
  // steps that start it.
  std::map<uint64_t, Clock::time_point> first_seen;
  int largest_batch = 0;
  const Clock::time_point deadline = Clock::now() + milliseconds(120000);
  v1::SlotMap map;
  while (Clock::now() < deadline) {
    deaths += RestartStopped(*cluster_);
    auto current = cluster_->GetMap(milliseconds(3000));
    if (!current.ok()) continue;
    map = *current;
    for (const v1::Migration& m : map.migrations()) {
      largest_batch = std::max(largest_batch, m.slots_size());
    }
    if (!killed) {
      for (const v1::Migration& m : map.migrations()) {
        if (m.phase() != kc.kill_in_phase) continue;
        auto seen = first_seen.emplace(m.id(), Clock::now()).first->second;
        if (Clock::now() - seen < milliseconds(300)) continue;
        auto leader = group.WaitForLeader(milliseconds(5000), group.ids());
        ASSERT_TRUE(leader.ok()) << leader.status().ToString();
        std::printf("killing %s leader %llu in phase %s\n", kc.name,
                    static_cast<unsigned long long>(*leader),
                    v1::MigrationPhase_Name(m.phase()).c_str());
        ASSERT_TRUE(group.Kill(*leader).ok());
        killed = true;
        break;
      }
    }
    uint32_t owned = 0;
    for (uint32_t o : map.slot_owner()) owned += o == kSource;
    if (killed && owned == 0 && map.migrations().empty() &&
        !map.rebalancing()) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  deaths += RestartStopped(*cluster_);
  std::printf("%s: %d node(s) died and were restarted; epoch %llu\n", kc.name,
              deaths, static_cast<unsigned long long>(map.epoch()));
  EXPECT_GT(deaths, 0) << "the failpoint " << kc.failpoints
                       << " never fired: the case tested nothing";
  EXPECT_GT(largest_batch, 1) << "no multi-slot migration was seen";
  auto settled = cluster_->WaitSettled(milliseconds(60000));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  uint32_t owned = 0;
  for (uint32_t o : settled->slot_owner()) owned += o == kSource;
  EXPECT_EQ(owned, 0u) << "the drain did not finish";

  std::this_thread::sleep_for(milliseconds(500));  // writes after the moves
  workload_->Stop();
  WorkloadCounts c = workload_->Counts();
  std::printf("workload: %llu ok, %llu condition failed, %llu unknown\n",
              static_cast<unsigned long long>(c.ok),
              static_cast<unsigned long long>(c.condition_failed),
              static_cast<unsigned long long>(c.unknown));
  EXPECT_GE(workload_->AckedWrites(), 20u);
  CheckEverything(book, *settled,
                  "/tmp/migfault-" + std::string(kc.name) + "-history.jsonl");
}

// The slots of `shard` in a migration state (IMPORTING, EXPORTING, FROZEN)
// at its leader, as "slot:state" words; empty when every slot it knows is
// plainly OWNED.
StatusOr<std::string> SlotsInMigration(ShardCluster& shard) {
  auto leader = shard.WaitForLeader(milliseconds(10000), shard.ids());
  if (!leader.ok()) return leader.status();
  auto channel = grpc::CreateChannel(shard.address(*leader),
                                     grpc::InsecureChannelCredentials());
  auto stub = internal::ShardControl::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + milliseconds(5000));
  internal::SlotsResponse response;
  grpc::Status s = stub->Slots(&context, internal::SlotsRequest(), &response);
  if (!s.ok()) return Status(Code::kUnavailable, s.error_message());
  std::string busy;
  for (const internal::SlotInfo& info : response.slots()) {
    if (info.state() == internal::SLOT_OWNED) continue;
    busy += std::to_string(info.slot()) + ":" +
            internal::SlotState_Name(info.state()) + " ";
  }
  return busy;
}

class MigrationCancelTest : public MigrationFaultTest {};

TEST_F(MigrationCancelTest, CancelledBatchIsAbortedOnBothShards) {
  StartCluster("migfault-cancel-batch", 1);
  if (HasFatalFailure()) return;
  KeyBook book(cluster_->endpoints(), 300, 512);
  ASSERT_TRUE(book.WriteAll().ok());
  // The batch is held after its copy, before FREEZING is recorded: a
  // cancel then lands while it is still cancellable.
  RestartWithFailpoints(
      cluster_->controller(),
      "migration.MIGRATION_COPYING.before_record=sleep(3000)");
  if (HasFatalFailure()) return;
  auto before = cluster_->GetMap();
  ASSERT_TRUE(before.ok());
  workload_ = std::make_unique<Workload>(cluster_->endpoints(),
                                         MigrationWorkload(77), &history_);
  ASSERT_TRUE(workload_->Start().ok());
  std::this_thread::sleep_for(milliseconds(1000));
  ASSERT_TRUE(cluster_->DrainShard(kSource).ok());

  int batch_slots = 0;
  const Clock::time_point deadline = Clock::now() + milliseconds(60000);
  while (Clock::now() < deadline && batch_slots == 0) {
    auto map = cluster_->GetMap(milliseconds(3000));
    if (map.ok()) {
      for (const v1::Migration& m : map->migrations()) {
        if (m.phase() == v1::MIGRATION_COPYING) batch_slots = m.slots_size();
      }
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(batch_slots, 8) << "no batch of the source's 8 slots in COPYING";
  client::ControllerOptions controller_options;
  controller_options.endpoints = cluster_->endpoints();
  auto controller = client::ControllerClient::Create(controller_options);
  ASSERT_TRUE(controller.ok());
  auto cancelled = (*controller)->CancelDrain(kSource);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  ASSERT_EQ(cancelled->migrations_size(), 1);
  EXPECT_TRUE(cancelled->migrations(0).cancelled());

  auto settled = cluster_->WaitSettled(milliseconds(60000));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_EQ(settled->totals().cancelled(), before->totals().cancelled() + 8u);
  EXPECT_EQ(settled->totals().slots_moved(), before->totals().slots_moved());
  for (int slot = 0; slot < settled->slot_owner_size(); ++slot) {
    EXPECT_EQ(settled->slot_owner(slot), before->slot_owner(slot)) << slot;
  }
  for (uint32_t id : {kSource, kTarget}) {
    auto busy = SlotsInMigration(cluster_->shard(id));
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    EXPECT_EQ(*busy, "") << "shard " << id << " was not aborted";
  }

  std::this_thread::sleep_for(milliseconds(500));
  workload_->Stop();
  EXPECT_GE(workload_->AckedWrites(), 20u);
  CheckEverything(book, *settled, "/tmp/migfault-cancel-batch-history.jsonl");
}

INSTANTIATE_TEST_SUITE_P(EveryStep, MigrationFaultTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<KillCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace shardkv::test
