#include "node/storage/state_machine.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

using testing::CommandEntry;
using testing::DelCmd;
using testing::SetCmd;
using testing::TempDir;
using testing::WithClient;

class StateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    sm_.reset();
    engine_.reset();
    auto engine = Engine::Open(dir_.path(), {});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    sm_ = std::make_unique<StateMachine>(engine_.get());
    ASSERT_TRUE(sm_->Load().ok());
    next_index_ = sm_->applied().index + 1;
  }

  // Applies one entry holding `commands` at the next index.
  std::vector<ApplyResult> Apply(std::vector<internal::Command> commands) {
    std::vector<ApplyResult> out;
    Status s = sm_->ApplyEntry(CommandEntry(next_index_++, 1, commands), &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out.size(), commands.size());
    return out;
  }
  ApplyResult Apply(internal::Command command) {
    auto out = Apply(std::vector<internal::Command>{command});
    return out.empty() ? ApplyResult{} : out[0];
  }

  ReadResult Read(const std::string& key, int64_t now_ms = 0) {
    auto r = sm_->Get(key, now_ms);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ReadResult{};
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StateMachine> sm_;
  raft::Index next_index_ = 1;
};

TEST_F(StateMachineTest, VersionsCountModificationsSinceCreation) {
  EXPECT_EQ(Apply(SetCmd("k", "a", 10)).version, 1u);
  EXPECT_EQ(Apply(SetCmd("k", "b", 11)).version, 2u);
  ReadResult r = Read("k");
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.value, "b");
  EXPECT_EQ(r.version, 2u);
  ApplyResult del = Apply(DelCmd("k", 12));
  EXPECT_TRUE(del.status.ok());
  EXPECT_TRUE(del.deleted);
  EXPECT_FALSE(Read("k").found);
  EXPECT_FALSE(Apply(DelCmd("k", 13)).deleted);
  EXPECT_EQ(Apply(SetCmd("k", "c", 14)).version, 1u);  // recreated
}

TEST_F(StateMachineTest, CommandsOfOneBatchSeeEachOther) {
  auto out = Apply({SetCmd("k", "a", 1), SetCmd("k", "b", 1), DelCmd("k", 1),
                    SetCmd("k", "c", 1)});
  EXPECT_EQ(out[0].version, 1u);
  EXPECT_EQ(out[1].version, 2u);
  EXPECT_TRUE(out[2].deleted);
  EXPECT_EQ(out[3].version, 1u);
  EXPECT_EQ(Read("k").value, "c");
}

TEST_F(StateMachineTest, SetIfAbsent) {
  auto cmd = SetCmd("k", "a", 1);
  cmd.mutable_set()->set_if_absent(true);
  EXPECT_TRUE(Apply(cmd).status.ok());
  ApplyResult again = Apply(cmd);
  EXPECT_EQ(again.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.current_version, 1u);
  EXPECT_EQ(Read("k").value, "a");
}

TEST_F(StateMachineTest, SetAndDeleteIfVersion) {
  Apply(SetCmd("k", "a", 1));
  auto cas = SetCmd("k", "b", 2);
  cas.mutable_set()->set_if_version(5);
  ApplyResult failed = Apply(cas);
  EXPECT_EQ(failed.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(failed.current_version, 1u);
  cas.mutable_set()->set_if_version(1);
  EXPECT_EQ(Apply(cas).version, 2u);
  auto del = DelCmd("k", 3);
  del.mutable_del()->set_if_version(1);
  EXPECT_EQ(Apply(del).status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Read("k").found);
  del.mutable_del()->set_if_version(2);
  EXPECT_TRUE(Apply(del).deleted);
  EXPECT_FALSE(Read("k").found);
  // Version 0 means "absent".
  auto create = SetCmd("k", "c", 4);
  create.mutable_set()->set_if_version(0);
  EXPECT_EQ(Apply(create).version, 1u);
}

TEST_F(StateMachineTest, TtlExpiresByAppliedClockAndLocalReadClock) {
  Apply(SetCmd("k", "a", 1000, /*expire_at_ms=*/2000));
  ReadResult r = Read("k", 1999);
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.expire_at_ms, 2000);
  EXPECT_FALSE(Read("k", 2000).found);  // local clock: invisible at once
  // Applied clock still 1000: the key is live for commands.
  auto if_absent = SetCmd("k", "b", 1500);
  if_absent.mutable_set()->set_if_absent(true);
  EXPECT_EQ(Apply(if_absent).status.code(), Code::kFailedPrecondition);
  // Once the applied clock passes the expiry the key is absent: version
  // restarts at 1.
  if_absent.set_now_ms(2000);
  ApplyResult created = Apply(if_absent);
  EXPECT_TRUE(created.status.ok()) << created.status.ToString();
  EXPECT_EQ(created.version, 1u);
  EXPECT_EQ(Read("k", 5000).value, "b");  // no expiry any more
}

TEST_F(StateMachineTest, AppliedClockNeverGoesBack) {
  Apply(SetCmd("k", "a", 1000, 1500));
  Apply(SetCmd("other", "x", 2000));
  EXPECT_EQ(sm_->applied().clock_ms, 2000);
  // A command stamped earlier (an older leader's clock) still sees the
  // key expired.
  auto del = DelCmd("k", 1200);
  del.mutable_del()->set_if_version(1);
  EXPECT_EQ(Apply(del).status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(sm_->applied().clock_ms, 2000);
}

// The reclaim scan runs on the replica's Raft loop every second: its
// cost is bounded by bytes as well as records, so large values cannot make
// one call read tens of MiB (4,096 records of 16 KiB did).
TEST_F(StateMachineTest, ReclaimReadsABoundedNumberOfBytesPerCall) {
  const std::string big(256 << 10, 'x');
  for (int i = 0; i < 40; ++i) {
    Apply(SetCmd("big" + std::to_string(100 + i), big, 100, 200));
  }
  Apply(SetCmd("tick", "v", 300));
  auto first = sm_->ReclaimExpired(1000);
  ASSERT_TRUE(first.ok());
  // 40 expired records of 256 KiB: 10 MiB, more than one call reads.
  EXPECT_GE(*first, 1u);
  EXPECT_LT(*first, 40u);
  size_t total = *first;
  for (int round = 0; round < 40 && total < 40; ++round) {
    auto n = sm_->ReclaimExpired(1000);
    ASSERT_TRUE(n.ok());
    total += *n;
  }
  EXPECT_EQ(total, 40u);
  EXPECT_FALSE(Read("big120", 0).found);
  EXPECT_TRUE(Read("tick", 0).found);
}

TEST_F(StateMachineTest, ReclaimDeletesOnlyExpiredRecords) {
  for (int i = 0; i < 50; ++i) {
    Apply(SetCmd("e" + std::to_string(i), "v", 100, 200));
    Apply(SetCmd("l" + std::to_string(i), "v", 100, 0));
  }
  Apply(SetCmd("late", "v", 100, 10000));
  auto none = sm_->ReclaimExpired(1000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  Apply(SetCmd("tick", "v", 300));
  size_t total = 0;
  for (int round = 0; round < 20; ++round) {
    auto n = sm_->ReclaimExpired(7);
    ASSERT_TRUE(n.ok());
    EXPECT_LE(*n, 7u);
    total += *n;
  }
  EXPECT_EQ(total, 50u);
  EXPECT_TRUE(Read("l7", 0).found);
  EXPECT_TRUE(Read("late", 0).found);
  std::string raw;
  EXPECT_TRUE(engine_->db()
                  ->Get({}, engine_->cf(Column::kData), "e7", &raw)
                  .IsNotFound());
}

TEST_F(StateMachineTest, RetriedCommandIsNotAppliedTwice) {
  ApplyResult first = Apply(WithClient(SetCmd("k", "a", 1), 7, 1));
  EXPECT_EQ(first.version, 1u);
  ApplyResult retry = Apply(WithClient(SetCmd("k", "a", 2), 7, 1));
  EXPECT_TRUE(retry.status.ok());
  EXPECT_EQ(retry.version, 1u);      // same answer
  EXPECT_EQ(Read("k").version, 1u);  // applied once
  // A failed condition is remembered as such.
  auto cond = WithClient(SetCmd("k", "b", 3), 7, 2);
  cond.mutable_set()->set_if_version(9);
  EXPECT_EQ(Apply(cond).status.code(), Code::kFailedPrecondition);
  Reopen();  // sessions are durable
  ApplyResult again = Apply(cond);
  EXPECT_EQ(again.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.current_version, 1u);
  ApplyResult older = Apply(WithClient(SetCmd("k", "z", 4), 7, 1));
  EXPECT_EQ(older.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(older.status.message().find("older request"), std::string::npos);
  EXPECT_EQ(Read("k").value, "a");
  // Other clients are independent; client 0 is never de-duplicated.
  EXPECT_EQ(Apply(WithClient(SetCmd("k", "c", 5), 8, 1)).version, 2u);
  EXPECT_EQ(Apply(SetCmd("k", "d", 5)).version, 3u);
  EXPECT_EQ(Apply(SetCmd("k", "d", 5)).version, 4u);
}

TEST_F(StateMachineTest, IdleSessionsExpireAfterAnHour) {
  const int64_t hour = 3600 * 1000;
  const int64_t minute = 60 * 1000;
  Apply(WithClient(SetCmd("a", "1", 1000), 1, 5));
  Apply(WithClient(SetCmd("b", "1", 1000 + hour / 2), 2, 5));
  // Just under an hour later (sweeps run every 16 indexes): still there.
  for (int i = 0; i < 40; ++i) Apply(SetCmd("tick", "x", hour - minute));
  EXPECT_EQ(Apply(WithClient(SetCmd("a", "1", hour - minute), 1, 5)).version,
            1u);
  // Idle for an hour (plus the index's one-minute granularity): gone, so
  // its old sequence is applied again.
  const int64_t later = 1000 + hour + 2 * minute;
  for (int i = 0; i < 40; ++i) Apply(SetCmd("tick", "x", later));
  EXPECT_EQ(Apply(WithClient(SetCmd("a", "1", later), 1, 5)).version, 2u);
  // Client 2 was seen within the hour: still de-duplicated.
  EXPECT_EQ(Apply(WithClient(SetCmd("b", "1", later), 2, 5)).version, 1u);
}

// Sessions expire at the same entry whatever batches the entries were
// applied in: replicas must not diverge.
TEST_F(StateMachineTest, SessionExpiryDoesNotDependOnBatching) {
  const int64_t hour = 3600 * 1000;
  std::vector<raft::Entry> entries;
  for (raft::Index i = 1; i <= 64; ++i) {
    // Clients 1..64, one per entry, while the clock runs 3 hours.
    entries.push_back(CommandEntry(
        i, 1, {WithClient(SetCmd("k", "v", i * hour / 20), i, 1)}));
  }
  TempDir other_dir;
  auto other = Engine::Open(other_dir.path(), {});
  ASSERT_TRUE(other.ok());
  StateMachine one_batch(other->get());
  ASSERT_TRUE(one_batch.Load().ok());
  std::vector<std::vector<ApplyResult>> out;
  ASSERT_TRUE(one_batch.ApplyEntries(entries, &out).ok());
  for (const auto& e : entries) {
    ASSERT_TRUE(sm_->ApplyEntries({e}, &out).ok());
  }
  auto dump = [](Engine* engine) {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(
        engine->db()->NewIterator({}, engine->cf(Column::kSessions)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      keys.push_back(it->key().ToString());
    }
    return keys;
  };
  auto expected = dump(other->get());
  EXPECT_EQ(dump(engine_.get()), expected);
  EXPECT_LT(expected.size(), 2u * 64);  // some did expire
}

TEST_F(StateMachineTest, AppliedStateSurvivesReopen) {
  auto out = Apply({SetCmd("k", "v", 77)});
  raft::ConfChange change{raft::ConfChangeType::kAddLearner, 4, "host:4"};
  raft::Entry cc{3, next_index_++, raft::EntryType::kConfChange,
                 change.Encode()};
  raft::ConfState conf{{1, 2, 3}, {4}};
  ASSERT_TRUE(sm_->ApplyConfChange(cc, change, conf).ok());
  Reopen();
  AppliedState st = sm_->applied();
  EXPECT_EQ(st.index, 2u);
  EXPECT_EQ(st.term, 3u);
  EXPECT_EQ(st.clock_ms, 77);
  EXPECT_EQ(st.conf, conf);
  EXPECT_EQ(st.addresses.at(4), "host:4");
  EXPECT_EQ(Read("k").value, "v");
  raft::ConfChange remove{raft::ConfChangeType::kRemove, 4, ""};
  ASSERT_TRUE(sm_->ApplyConfChange(
                     {3, 3, raft::EntryType::kConfChange, remove.Encode()},
                     remove, {{1, 2, 3}, {}})
                  .ok());
  EXPECT_EQ(sm_->applied().addresses.count(4), 0u);
}

// Regression: the bootstrap membership was recorded through
// ApplyConfChange at index 0, which skips it as a replay, so a restarted
// group had no voters in its applied state.
TEST_F(StateMachineTest, BootstrapMembershipSurvivesApplyAndReopen) {
  raft::ConfState conf{{1, 2, 3}, {}};
  std::map<raft::NodeId, std::string> addresses{
      {1, "h:1"}, {2, "h:2"}, {3, "h:3"}};
  ASSERT_TRUE(sm_->Bootstrap(conf, addresses).ok());
  Apply(SetCmd("k", "v", 5));
  Reopen();
  EXPECT_EQ(sm_->applied().conf, conf);
  EXPECT_EQ(sm_->applied().addresses, addresses);
  EXPECT_EQ(sm_->Bootstrap(conf, addresses).code(), Code::kFailedPrecondition);
}

TEST_F(StateMachineTest, ApplyEntriesIsOneWriteAndSkipsReplays) {
  std::vector<raft::Entry> entries;
  for (raft::Index i = 1; i <= 5; ++i) {
    entries.push_back(CommandEntry(i, 1, {SetCmd("k", std::to_string(i), 10)}));
  }
  entries.push_back({1, 6, raft::EntryType::kNormal, ""});  // leader no-op
  std::vector<std::vector<ApplyResult>> out;
  ASSERT_TRUE(sm_->ApplyEntries(entries, &out).ok());
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[4][0].version, 5u);
  EXPECT_TRUE(out[5].empty());
  EXPECT_EQ(sm_->applied().index, 6u);
  // Replaying entries after a crash does not apply them twice.
  ASSERT_TRUE(sm_->ApplyEntries(entries, &out).ok());
  EXPECT_EQ(Read("k").version, 5u);
}

TEST_F(StateMachineTest, LargeValue) {
  std::string big(1 << 20, 'v');
  big[12345] = 'x';
  EXPECT_EQ(Apply(SetCmd("big", big, 1)).version, 1u);
  Reopen();
  EXPECT_EQ(Read("big").value, big);
}

TEST_F(StateMachineTest, GarbageEntryIsAnErrorNotACrash) {
  std::vector<ApplyResult> out;
  Status s =
      sm_->ApplyEntry({1, 1, raft::EntryType::kNormal, "\xff\xff"}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(sm_->applied().index, 0u);
}

TEST_F(StateMachineTest, ApproximateSizes) {
  for (int i = 0; i < 100; ++i) {
    Apply(SetCmd("key" + std::to_string(i), std::string(100, 'x'), 1));
  }
  EXPECT_GT(sm_->ApproximateKeys(), 0u);
  EXPECT_GT(sm_->ApproximateBytes(), 0u);
}

// The state machine writes without RocksDB's WAL (engine.h). What a kill -9
// leaves is the data dir as it is on disk while the engine is open: a copy
// of it taken then must hold exactly the state of the last flush, applied
// index included, which DurableApplied() names; replaying the log from
// there gives the state before the crash, each version counted once.
TEST_F(StateMachineTest, ACrashKeepsExactlyTheLastFlush) {
  Apply(SetCmd("a", "1", 10));
  Apply(SetCmd("b", "1", 10));
  ASSERT_TRUE(engine_->FlushAll(/*wait=*/true).ok());
  EXPECT_EQ(*sm_->DurableApplied(), 2u);
  const std::vector<std::vector<internal::Command>> after_flush = {
      {SetCmd("a", "2", 11)}, {SetCmd("c", "1", 11)}, {DelCmd("b", 11)}};
  for (const auto& commands : after_flush) Apply(commands);
  EXPECT_EQ(sm_->applied().index, 5u);
  EXPECT_EQ(*sm_->DurableApplied(), 2u);

  TempDir crashed;
  std::filesystem::copy(dir_.path(), crashed.path(),
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::overwrite_existing);
  {
    auto engine = Engine::Open(crashed.path(), {});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    StateMachine sm(engine->get());
    ASSERT_TRUE(sm.Load().ok());
    EXPECT_EQ(sm.applied().index, 2u);
    EXPECT_EQ(*sm.DurableApplied(), 2u);
    EXPECT_EQ(sm.Get("a", 0)->value, "1");
    EXPECT_TRUE(sm.Get("b", 0)->found);
    EXPECT_FALSE(sm.Get("c", 0)->found);
    raft::Index index = 3;
    for (const auto& commands : after_flush) {
      std::vector<ApplyResult> out;
      ASSERT_TRUE(sm.ApplyEntry(CommandEntry(index++, 1, commands), &out).ok());
    }
    ReadResult a = *sm.Get("a", 0);
    EXPECT_EQ(a.value, "2");
    EXPECT_EQ(a.version, 2u);
    EXPECT_FALSE(sm.Get("b", 0)->found);
    EXPECT_TRUE(sm.Get("c", 0)->found);
  }

  // A clean close flushes what the memtables held: nothing to replay.
  Reopen();
  EXPECT_EQ(sm_->applied().index, 5u);
  EXPECT_EQ(*sm_->DurableApplied(), 5u);
  EXPECT_EQ(Read("a").version, 2u);
}

}  // namespace
}  // namespace shardkv::storage
