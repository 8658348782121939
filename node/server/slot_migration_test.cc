// Two single-replica shards as real shardkv-node processes: slots are
// assigned, then one slot moves from shard 1 to shard 2 by calling the
// ShardControl steps by hand in protocol order while a client writes.
// Checks WRONG_SHARD / SLOT_MIGRATING and that every acknowledged write is
// on the target afterwards.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/slot.h"
#include "shardkv/internal/shard_control.grpc.pb.h"
#include "shardkv/v1/kv.grpc.pb.h"
#include "testing/cluster/free_port.h"
#include "testing/cluster/process.h"
#include "testing/cluster/temp_dir.h"

namespace shardkv {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

constexpr uint32_t kCount = 16;
constexpr uint32_t kSlot = 3;  // starts on shard 1
constexpr uint64_t kMigration = 1;

struct Node {
  std::string address;
  std::unique_ptr<test::Process> process;
  std::unique_ptr<v1::KV::Stub> kv;
  std::unique_ptr<internal::ShardControl::Stub> control;
};

v1::ErrorDetail Detail(const grpc::Status& s) {
  v1::ErrorDetail detail;
  detail.ParseFromString(s.error_details());
  return detail;
}

void Deadline(grpc::ClientContext* context, int ms = 5000) {
  context->set_deadline(system_clock::now() + milliseconds(ms));
}

std::string KeyOf(uint32_t slot, int n) {
  for (int i = 0;; ++i) {
    std::string key = "k" + std::to_string(i);
    if (SlotOf(key, kCount) == slot && n-- == 0) return key;
  }
}

class SlotMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::Create("slot-migration");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<test::TempDir>(std::move(dir).value());
    for (uint32_t shard = 1; shard <= 2; ++shard) {
      Node& node = nodes_[shard];
      node.address = "127.0.0.1:" + std::to_string(test::FreePort());
      test::ProcessOptions po;
      po.binary = SHARDKV_NODE_BIN;
      po.args = {"--id",       "1",
                 "--role",     "shard",
                 "--shard-id", std::to_string(shard),
                 "--listen",   node.address,
                 "--peers",    "1=" + node.address,
                 "--data-dir", dir_->Join("shard" + std::to_string(shard)),
                 "--tick",     "10ms"};
      po.log_path = dir_->Join("shard" + std::to_string(shard) + ".log");
      auto process = test::Process::Start(po);
      ASSERT_TRUE(process.ok()) << process.status().ToString();
      node.process = std::move(process).value();
      auto channel =
          grpc::CreateChannel(node.address, grpc::InsecureChannelCredentials());
      node.kv = v1::KV::NewStub(channel);
      node.control = internal::ShardControl::NewStub(channel);
    }
  }

  // Retries while the node is starting or electing itself.
  template <typename Request>
  internal::SlotStateResponse Step(
      uint32_t shard,
      grpc::Status (internal::ShardControl::Stub::*rpc)(
          grpc::ClientContext*, const Request&, internal::SlotStateResponse*),
      const Request& request) {
    internal::SlotStateResponse response;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
      grpc::ClientContext context;
      Deadline(&context);
      grpc::Status s =
          (nodes_[shard].control.get()->*rpc)(&context, request, &response);
      if (s.ok()) return response;
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE ||
          std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "shard " << shard << ": " << s.error_message();
        return response;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  grpc::Status Set(uint32_t shard, const std::string& key,
                   const std::string& value, uint64_t client = 0,
                   uint64_t sequence = 0) {
    v1::SetRequest request;
    request.set_key(key);
    request.set_value(value);
    request.mutable_request_id()->set_client_id(client);
    request.mutable_request_id()->set_sequence(sequence);
    v1::SetResponse response;
    grpc::ClientContext context;
    Deadline(&context, 2000);
    return nodes_[shard].kv->Set(&context, request, &response);
  }

  grpc::Status Get(uint32_t shard, const std::string& key,
                   v1::GetResponse* response) {
    v1::GetRequest request;
    request.set_key(key);
    grpc::ClientContext context;
    Deadline(&context, 2000);
    return nodes_[shard].kv->Get(&context, request, response);
  }

  // Copies one export round from shard 1 to shard 2 (one Import per
  // chunk); returns as_of_index.
  // `window` > 1 keeps that many imports in flight (chunks of one round
  // hold disjoint keys, so their order does not matter).
  uint64_t CopyRound(uint64_t after, bool* frozen, uint64_t chunk_bytes = 4096,
                     size_t window = 1) {
    std::deque<std::future<void>> in_flight;
    internal::ExportSlotRequest request;
    request.set_migration_id(kMigration);
    request.set_slot(kSlot);
    request.set_after_index(after);
    request.set_max_chunk_bytes(chunk_bytes);
    grpc::ClientContext context;
    Deadline(&context, 20000);
    auto reader = nodes_[1].control->ExportSlot(&context, request);
    internal::ExportChunk chunk;
    uint64_t as_of = 0;
    while (true) {
      auto t0 = std::chrono::steady_clock::now();
      if (!reader->Read(&chunk)) break;
      auto t1 = std::chrono::steady_clock::now();
      read_seconds_ += std::chrono::duration<double>(t1 - t0).count();
      as_of = chunk.as_of_index();
      *frozen = chunk.frozen();
      internal::ImportRecords import;
      import.set_migration_id(kMigration);
      import.set_slot(kSlot);
      *import.mutable_records() = chunk.records();
      *import.mutable_sessions() = chunk.sessions();
      if (window > 1) {
        while (in_flight.size() >= window) {
          in_flight.front().get();
          in_flight.pop_front();
        }
        in_flight.push_back(std::async(std::launch::async, [this, import] {
          Step(2, &internal::ShardControl::Stub::Import, import);
        }));
      } else {
        Step(2, &internal::ShardControl::Stub::Import, import);
      }
      import_seconds_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t1)
              .count();
    }
    for (auto& f : in_flight) f.get();
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return as_of;
  }

  std::unique_ptr<test::TempDir> dir_;
  std::map<uint32_t, Node> nodes_;
  double read_seconds_ = 0;    // waiting for export chunks
  double import_seconds_ = 0;  // waiting for imports to apply
};

TEST_F(SlotMigrationTest, MoveOneSlotByHandWhileWriting) {
  internal::AssignSlots assign;
  assign.set_epoch(1);
  assign.set_slot_count(kCount);
  for (uint32_t s = 0; s < kCount / 2; ++s) assign.add_slots(s);
  EXPECT_EQ(Step(1, &internal::ShardControl::Stub::Assign, assign).epoch(), 1u);
  assign.clear_slots();
  for (uint32_t s = kCount / 2; s < kCount; ++s) assign.add_slots(s);
  Step(2, &internal::ShardControl::Stub::Assign, assign);

  // Before the move: shard 2 refuses slot 3 with its epoch.
  grpc::Status wrong = Set(2, KeyOf(kSlot, 0), "x");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Detail(wrong).reason(), v1::WRONG_SHARD);
  EXPECT_EQ(Detail(wrong).epoch(), 1u);

  // A client writing keys of slot 3 (and slot 4, which stays), routing by
  // `owner` and retrying SLOT_MIGRATING with the same request id.
  std::atomic<uint32_t> owner{1};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<std::string, std::string> acked;  // GUARDED_BY(mu)
  std::map<int, int> reasons;                // GUARDED_BY(mu)
  std::thread writer([&] {
    uint64_t sequence = 0;
    for (int i = 0; !stop; ++i) {
      const bool moving = i % 2 == 0;
      std::string key = KeyOf(moving ? kSlot : 4, i % 50);
      std::string value = "v" + std::to_string(i);
      ++sequence;
      for (int attempt = 0; attempt < 400; ++attempt) {
        uint32_t shard = moving ? owner.load() : 1;
        grpc::Status s = Set(shard, key, value, 4242, sequence);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked[key] = value;
          break;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          ++reasons[Detail(s).reason()];
        }
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
  });
  std::this_thread::sleep_for(milliseconds(300));

  internal::BeginImport begin_import;
  begin_import.set_migration_id(kMigration);
  begin_import.set_slot(kSlot);
  begin_import.set_epoch(2);
  begin_import.set_slot_count(kCount);
  EXPECT_EQ(
      Step(2, &internal::ShardControl::Stub::StartImport, begin_import).state(),
      internal::SLOT_IMPORTING);
  grpc::Status importing = Set(2, KeyOf(kSlot, 0), "x");
  EXPECT_EQ(importing.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Detail(importing).reason(), v1::SLOT_MIGRATING);

  internal::BeginExport begin_export;
  begin_export.set_migration_id(kMigration);
  begin_export.set_slot(kSlot);
  begin_export.set_epoch(2);
  for (int i = 0; i < 2; ++i) {  // idempotent
    EXPECT_EQ(Step(1, &internal::ShardControl::Stub::StartExport, begin_export)
                  .state(),
              internal::SLOT_EXPORTING);
  }
  bool frozen = false;
  uint64_t after = 0;
  for (int round = 0; round < 3; ++round) {
    after = CopyRound(after, &frozen);
    EXPECT_FALSE(frozen);
    std::this_thread::sleep_for(milliseconds(100));
  }
  internal::FreezeSlot freeze;
  freeze.set_migration_id(kMigration);
  freeze.set_slot(kSlot);
  EXPECT_EQ(Step(1, &internal::ShardControl::Stub::Freeze, freeze).state(),
            internal::SLOT_FROZEN);
  grpc::Status migrating = Set(1, KeyOf(kSlot, 0), "x");
  EXPECT_EQ(migrating.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Detail(migrating).reason(), v1::SLOT_MIGRATING);
  v1::GetResponse got;
  EXPECT_EQ(Detail(Get(1, KeyOf(kSlot, 0), &got)).reason(), v1::SLOT_MIGRATING);
  CopyRound(after, &frozen);
  EXPECT_TRUE(frozen);

  // The controller would switch the map here (epoch 3).
  internal::ActivateSlot activate;
  activate.set_migration_id(kMigration);
  activate.set_slot(kSlot);
  activate.set_epoch(3);
  EXPECT_EQ(Step(2, &internal::ShardControl::Stub::Activate, activate).state(),
            internal::SLOT_OWNED);
  owner = 2;
  internal::ReleaseSlot release;
  release.set_migration_id(kMigration);
  release.set_slot(kSlot);
  release.set_epoch(3);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Step(1, &internal::ShardControl::Stub::Release, release).state(),
              internal::SLOT_NOT_OWNED);
  }
  std::this_thread::sleep_for(milliseconds(300));
  stop = true;
  writer.join();

  wrong = Set(1, KeyOf(kSlot, 0), "x");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Detail(wrong).reason(), v1::WRONG_SHARD);
  EXPECT_EQ(Detail(wrong).epoch(), 3u);

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GT(acked.size(), 20u);
  for (const auto& [key, value] : acked) {
    v1::GetResponse response;
    const uint32_t shard = SlotOf(key, kCount) == kSlot ? 2 : 1;
    grpc::Status s = Get(shard, key, &response);
    ASSERT_TRUE(s.ok()) << key << ": " << s.error_message();
    EXPECT_TRUE(response.found()) << key;
    EXPECT_EQ(response.value(), value) << key;
  }
  internal::SlotsResponse slots;
  grpc::ClientContext context;
  Deadline(&context);
  ASSERT_TRUE(nodes_[2].control->Slots(&context, {}, &slots).ok());
  EXPECT_TRUE(slots.sharded());
  EXPECT_EQ(slots.epoch(), 3u);
  EXPECT_EQ(slots.owned_slots(), kCount / 2 + 1);
  for (const auto& [reason, count] : reasons) {
    EXPECT_TRUE(reason == v1::SLOT_MIGRATING || reason == v1::WRONG_SHARD)
        << "unexpected error reason " << reason << " (" << count << "x)";
  }
}

// A batch of slots frozen together takes the sessions from one slot's final
// round: ExportSlot with omit_sessions sends the records but no session.
TEST_F(SlotMigrationTest, FrozenRoundOmitsSessionsWhenAsked) {
  internal::AssignSlots assign;
  assign.set_epoch(1);
  assign.set_slot_count(kCount);
  for (uint32_t s = 0; s < kCount; ++s) assign.add_slots(s);
  Step(1, &internal::ShardControl::Stub::Assign, assign);
  ASSERT_TRUE(Set(1, KeyOf(kSlot, 0), "v", /*client=*/77, 1).ok());
  internal::BeginExport begin_export;
  begin_export.set_migration_id(kMigration);
  begin_export.set_slot(kSlot);
  begin_export.set_epoch(2);
  Step(1, &internal::ShardControl::Stub::StartExport, begin_export);
  internal::FreezeSlot freeze;
  freeze.set_migration_id(kMigration);
  freeze.set_slot(kSlot);
  Step(1, &internal::ShardControl::Stub::Freeze, freeze);
  auto round = [&](bool omit, int* records, int* sessions) {
    internal::ExportSlotRequest request;
    request.set_migration_id(kMigration);
    request.set_slot(kSlot);
    request.set_omit_sessions(omit);
    grpc::ClientContext context;
    Deadline(&context, 20000);
    auto reader = nodes_[1].control->ExportSlot(&context, request);
    internal::ExportChunk chunk;
    *records = *sessions = 0;
    while (reader->Read(&chunk)) {
      EXPECT_TRUE(chunk.frozen());
      *records += chunk.records_size();
      *sessions += chunk.sessions_size();
    }
    EXPECT_TRUE(reader->Finish().ok());
  };
  int records = 0, sessions = 0;
  round(false, &records, &sessions);
  EXPECT_EQ(records, 1);
  EXPECT_GE(sessions, 1);
  round(true, &records, &sessions);
  EXPECT_EQ(records, 1);
  EXPECT_EQ(sessions, 0);
}

// A batch: every step is one call (one Raft entry) for all its slots, and
// one export stream covers them; the answers say how many slots each
// covered (an older node would answer 0 and apply only `slot`).
TEST_F(SlotMigrationTest, ABatchMovesWithOneCallPerStep) {
  const std::vector<uint32_t> batch = {3, 4, 9};
  internal::AssignSlots assign;
  assign.set_epoch(1);
  assign.set_slot_count(kCount);
  for (uint32_t s = 0; s < kCount; ++s) assign.add_slots(s);
  Step(1, &internal::ShardControl::Stub::Assign, assign);
  std::vector<std::string> keys;
  for (uint32_t slot : batch) {
    for (int i = 0; i < 20; ++i) keys.push_back(KeyOf(slot, i));
  }
  for (const std::string& key : keys) ASSERT_TRUE(Set(1, key, "v" + key).ok());
  auto with_batch = [&](auto request) {
    request.set_migration_id(kMigration);
    for (uint32_t slot : batch) request.add_slots(slot);
    return request;
  };
  using Stub = internal::ShardControl::Stub;
  EXPECT_EQ(Step(2, &Stub::StartImport,
                 [&] {
                   auto r = with_batch(internal::BeginImport());
                   r.set_slot_count(kCount);
                   return r;
                 }())
                .batch_slots(),
            3u);
  EXPECT_EQ(Step(1, &Stub::StartExport, with_batch(internal::BeginExport()))
                .batch_slots(),
            3u);
  auto round = [&](uint64_t after, bool* frozen) {
    auto request = with_batch(internal::ExportSlotRequest());
    request.set_after_index(after);
    request.set_max_chunk_bytes(300);  // several chunks
    grpc::ClientContext context;
    Deadline(&context, 20000);
    auto reader = nodes_[1].control->ExportSlot(&context, request);
    internal::ExportChunk chunk;
    uint64_t as_of = 0;
    int records = 0;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.batch_slots(), 3u);
      as_of = chunk.as_of_index();
      *frozen = chunk.frozen();
      records += chunk.records_size();
      auto import = with_batch(internal::ImportRecords());
      *import.mutable_records() = chunk.records();
      *import.mutable_sessions() = chunk.sessions();
      EXPECT_EQ(Step(2, &Stub::Import, import).batch_slots(), 3u);
    }
    EXPECT_TRUE(reader->Finish().ok());
    return std::make_pair(as_of, records);
  };
  bool frozen = true;
  auto [as_of, records] = round(0, &frozen);
  EXPECT_EQ(records, static_cast<int>(keys.size()));
  EXPECT_FALSE(frozen);
  ASSERT_TRUE(Set(1, keys[0], "changed").ok());
  Step(1, &Stub::Freeze, with_batch(internal::FreezeSlot()));
  auto [final_as_of, changed] = round(as_of, &frozen);
  EXPECT_TRUE(frozen);
  EXPECT_EQ(changed, 1);
  EXPECT_GT(final_as_of, as_of);
  EXPECT_EQ(Step(2, &Stub::Activate, with_batch(internal::ActivateSlot()))
                .batch_slots(),
            3u);
  Step(1, &Stub::Release, with_batch(internal::ReleaseSlot()));
  for (const std::string& key : keys) {
    v1::GetResponse got;
    ASSERT_TRUE(Get(2, key, &got).ok()) << key;
    EXPECT_EQ(got.value(), key == keys[0] ? "changed" : "v" + key);
    grpc::Status moved = Get(1, key, &got);
    EXPECT_EQ(Detail(moved).reason(), v1::WRONG_SHARD) << key;
  }
  // A slot outside the batch stayed on shard 1.
  v1::GetResponse got;
  ASSERT_TRUE(Set(1, KeyOf(5, 0), "stays").ok());
  EXPECT_TRUE(Get(1, KeyOf(5, 0), &got).ok());
}

// A measurement, not a check (run with --gtest_also_run_disabled_tests):
// export + import throughput of one slot holding about 50 MiB.
TEST_F(SlotMigrationTest, DISABLED_MeasureMoving50MiB) {
  internal::AssignSlots assign;
  assign.set_epoch(1);
  assign.set_slot_count(kCount);
  for (uint32_t s = 0; s < kCount; ++s) assign.add_slots(s);
  Step(1, &internal::ShardControl::Stub::Assign, assign);
  const std::string value(64 << 10, 'v');
  uint64_t bytes = 0;
  for (int i = 0; bytes < (50ull << 20); ++i) {
    ASSERT_TRUE(Set(1, KeyOf(kSlot, i), value).ok());
    bytes += value.size();
  }
  internal::BeginImport begin_import;
  begin_import.set_migration_id(kMigration);
  begin_import.set_slot(kSlot);
  begin_import.set_slot_count(kCount);
  Step(2, &internal::ShardControl::Stub::StartImport, begin_import);
  internal::BeginExport begin_export;
  begin_export.set_migration_id(kMigration);
  begin_export.set_slot(kSlot);
  Step(1, &internal::ShardControl::Stub::StartExport, begin_export);
  auto start = std::chrono::steady_clock::now();
  bool frozen = false;
  CopyRound(0, &frozen, 1 << 20, /*window=*/4);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "moved %.1f MiB in %.2f s: %.1f MiB/s (%.2f s reading the export, "
      "%.2f s importing or waiting for a free slot of 4 in flight)\n",
      bytes / 1048576.0, seconds, bytes / 1048576.0 / seconds, read_seconds_,
      import_seconds_);
  v1::GetResponse got;
  internal::ActivateSlot activate;
  activate.set_migration_id(kMigration);
  activate.set_slot(kSlot);
  Step(2, &internal::ShardControl::Stub::Activate, activate);
  ASSERT_TRUE(Get(2, KeyOf(kSlot, 0), &got).ok());
  EXPECT_EQ(got.value(), value);
}

}  // namespace
}  // namespace shardkv
