#include "testing/lincheck/checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace shardkv::lincheck {
namespace {

Deadline Soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

// Builds a history from ops with explicit [call, return] times.
class HistoryBuilder {
 public:
  HistoryBuilder& Op(OpInput in, OpOutput out, int64_t call, int64_t ret) {
    Operation op;
    op.id = ops_.size();
    op.input = std::move(in);
    op.output = std::move(out);
    op.call_ns = call;
    op.return_ns =
        op.output.outcome == Outcome::kUnknown ? kNeverReturned : ret;
    ops_.push_back(std::move(op));
    return *this;
  }
  const std::vector<Operation>& ops() const { return ops_; }

 private:
  std::vector<Operation> ops_;
};

Verdict VerdictOf(const HistoryBuilder& h) {
  CheckResult r = Check(h.ops(), Soon());
  if (r.verdict == Verdict::kViolation) {
    // Every violation must come with a printable explanation.
    EXPECT_NE(r.Summary().find("longest linearizable prefix"),
              std::string::npos);
  }
  return r.verdict;
}

TEST(CheckerTest, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(VerdictOf(HistoryBuilder()), Verdict::kLinearizable);
}

TEST(CheckerTest, SequentialSetGetDelete) {
  HistoryBuilder h;
  h.Op(GetInput("k"), GetNotFound(), 0, 1)
      .Op(SetInput("k", "a"), SetOk(1), 2, 3)
      .Op(GetInput("k"), GetFoundVersion("a", 1), 4, 5)
      .Op(SetInput("k", "b"), SetOk(2), 6, 7)
      .Op(DeleteInput("k"), DeleteOk(true), 8, 9)
      .Op(DeleteInput("k"), DeleteOk(false), 10, 11)
      .Op(SetInput("k", "c"), SetOk(1), 12, 13)  // version restarts
      .Op(GetInput("k"), GetFoundVersion("c", 1), 14, 15);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, ConcurrentOverlappingWritesAndReads) {
  // Two overlapping writes; readers during the overlap may see either
  // order, but must agree with each other once both are done.
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(2), 0, 100)
      .Op(SetInput("k", "b"), SetOk(1), 10, 90)
      .Op(GetInput("k"), GetFound("b"), 20, 30)
      .Op(GetInput("k"), GetFound("a"), 40, 120)
      .Op(GetInput("k"), GetFoundVersion("a", 2), 130, 140);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, ReadsOfConcurrentWriteMayFlipOnlyOnce) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), SetOk(2), 20, 100)
      .Op(GetInput("k"), GetFound("b"), 30, 40)
      .Op(GetInput("k"), GetFound("a"), 50, 60);  // b was already visible
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, StaleReadAfterCompletedWrite) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), SetOk(2), 20, 30)
      .Op(GetInput("k"), GetFound("a"), 40, 50);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, LostAcknowledgedWrite) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(GetInput("k"), GetNotFound(), 20, 30);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, ReadOfValueNeverWritten) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(GetInput("k"), GetFound("zzz"), 5, 30);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, VersionGoingBackwards) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), SetOk(2), 20, 30)
      .Op(SetInput("k", "c"), SetOk(2), 40, 50);  // should be 3
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, ReadVersionMustMatchWrite) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(GetInput("k"), GetFoundVersion("a", 2), 20, 30);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, CompareAndSetWithRightVersion) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b", Condition::kIfVersion, 1), SetOk(2), 20, 30)
      .Op(SetInput("k", "c", Condition::kIfVersion, 1), ConditionFailed(), 40,
          50)
      .Op(SetInput("k", "d", Condition::kIfAbsent), ConditionFailed(), 60, 70)
      .Op(DeleteInput("k", Condition::kIfVersion, 1), ConditionFailed(), 80, 90)
      .Op(DeleteInput("k", Condition::kIfVersion, 2), DeleteOk(true), 100, 110)
      .Op(SetInput("k", "e", Condition::kIfAbsent), SetOk(1), 120, 130);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, CompareAndSetSuccessWithWrongVersion) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), SetOk(2), 20, 30)
      .Op(SetInput("k", "c", Condition::kIfVersion, 1), SetOk(3), 40, 50);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, IfAbsentSuccessOnPresentKey) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b", Condition::kIfAbsent), SetOk(2), 20, 30);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, ConditionFailedWhenConditionHeld) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(DeleteInput("k", Condition::kIfVersion, 1), ConditionFailed(), 20,
          30);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, UnknownWriteMayHaveTakenEffect) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), UnknownOutcome(), 20, 0)
      .Op(GetInput("k"), GetFoundVersion("b", 2), 1000, 1010);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, UnknownWriteMayNotHaveTakenEffect) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), UnknownOutcome(), 20, 0)
      .Op(GetInput("k"), GetFoundVersion("a", 1), 1000, 1010)
      .Op(SetInput("k", "c"), SetOk(2), 1100, 1110);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, UnknownWriteTakesEffectLateButNotBeforeItsCall) {
  HistoryBuilder h;
  h.Op(GetInput("k"), GetFound("b"), 0, 10)
      .Op(SetInput("k", "b"), UnknownOutcome(), 20, 0);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, UnknownWriteCannotUndoItself) {
  // Once the unknown write is observed it stays (no later op removed it).
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(SetInput("k", "b"), UnknownOutcome(), 20, 0)
      .Op(GetInput("k"), GetFound("b"), 30, 40)
      .Op(GetInput("k"), GetFound("a"), 50, 60);
  EXPECT_EQ(VerdictOf(h), Verdict::kViolation);
}

TEST(CheckerTest, UnknownDelete) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10)
      .Op(DeleteInput("k"), UnknownOutcome(), 20, 0)
      .Op(GetInput("k"), GetNotFound(), 30, 40)
      .Op(SetInput("k", "b"), SetOk(1), 50, 60);
  EXPECT_EQ(VerdictOf(h), Verdict::kLinearizable);
}

TEST(CheckerTest, KeysAreCheckedIndependently) {
  HistoryBuilder h;
  h.Op(SetInput("x", "a"), SetOk(1), 0, 10)
      .Op(SetInput("y", "a"), SetOk(1), 0, 10)
      .Op(GetInput("x"), GetFound("a"), 20, 30)
      .Op(GetInput("y"), GetNotFound(), 20, 30);  // lost write on y only
  CheckResult r = Check(h.ops(), Soon());
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].key, "x");
  EXPECT_EQ(r.keys[0].verdict, Verdict::kLinearizable);
  EXPECT_EQ(r.keys[1].verdict, Verdict::kViolation);
  EXPECT_EQ(r.violations, 1u);
  EXPECT_NE(r.Summary().find("key \"y\""), std::string::npos);
}

TEST(CheckerTest, TtlKeysAreSkippedNotChecked) {
  OpInput ttl_write = SetInput("t", "a");
  ttl_write.has_ttl = true;
  HistoryBuilder h;
  h.Op(ttl_write, SetOk(1), 0, 10).Op(GetInput("t"), GetNotFound(), 20, 30);
  CheckResult r = Check(h.ops(), Soon());
  EXPECT_EQ(r.verdict, Verdict::kLinearizable);
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].verdict, Verdict::kSkipped);
  EXPECT_EQ(r.skipped, 1u);
}

TEST(CheckerTest, ExpiredDeadlineIsTimeoutNotPass) {
  HistoryBuilder h;
  h.Op(SetInput("k", "a"), SetOk(1), 0, 10);
  CheckResult r =
      Check(h.ops(), std::chrono::steady_clock::now() - std::chrono::hours(1));
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
  EXPECT_FALSE(r.ok());
}

TEST(CheckerTest, RecordedHistoryFromThreads) {
  History history;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&history, t] {
      for (int i = 0; i < 50; ++i) {
        auto id = history.BeginOp(t, GetInput("k" + std::to_string(t)));
        history.EndOp(id, GetNotFound());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto pending = history.BeginOp(9, SetInput("k0", "x"));  // never ended
  (void)pending;
  std::vector<Operation> ops = history.Operations();
  ASSERT_EQ(ops.size(), 201u);
  EXPECT_EQ(ops.back().output.outcome, Outcome::kUnknown);
  EXPECT_EQ(ops.back().return_ns, kNeverReturned);
  EXPECT_TRUE(Check(history, Soon()).ok());
}

}  // namespace
}  // namespace shardkv::lincheck
