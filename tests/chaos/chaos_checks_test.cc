#include "tests/chaos/chaos_checks.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/cluster/temp_dir.h"
#include "tests/chaos/fault_injector.h"

namespace shardkv::test {
namespace {

using lincheck::Operation;

Operation Op(int client, lincheck::OpInput in, lincheck::OpOutput out,
             int64_t call, int64_t ret) {
  Operation op;
  op.client = client;
  op.input = std::move(in);
  op.output = std::move(out);
  op.call_ns = call;
  op.return_ns = op.output.outcome == lincheck::Outcome::kUnknown
                     ? lincheck::kNeverReturned
                     : ret;
  return op;
}

TEST(FindLostWritesTest, FinalReadMustShowTheLastAcknowledgedWrite) {
  std::vector<Operation> ops = {
      Op(1, lincheck::SetInput("k", "a"), lincheck::SetOk(1), 0, 10),
      Op(1, lincheck::SetInput("k", "b"), lincheck::SetOk(2), 20, 30),
      Op(0, lincheck::GetInput("k"), lincheck::GetFound("a"), 100, 110)};
  auto lost = FindLostWrites(ops);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].find("k:"), std::string::npos);
  ops[2].output = lincheck::GetFound("b");
  EXPECT_TRUE(FindLostWrites(ops).empty());
}

TEST(FindLostWritesTest, OverlappingAndUnknownWritesMayWin) {
  std::vector<Operation> ops = {
      Op(1, lincheck::SetInput("k", "a"), lincheck::SetOk(1), 0, 50),
      // Overlaps the acknowledged write: may linearize after it.
      Op(2, lincheck::SetInput("k", "c"), lincheck::SetOk(2), 10, 40),
      Op(3, lincheck::DeleteInput("k"), lincheck::UnknownOutcome(), 60, 0),
      Op(0, lincheck::GetInput("k"), lincheck::GetNotFound(), 100, 110)};
  EXPECT_TRUE(FindLostWrites(ops).empty());
  ops[3].output = lincheck::GetFound("c");
  EXPECT_TRUE(FindLostWrites(ops).empty());
  ops[2].output = lincheck::ConditionFailed();  // a definite no-op
  ops[2].return_ns = 70;
  ops[3].output = lincheck::GetNotFound();
  EXPECT_EQ(FindLostWrites(ops).size(), 1u);
}

TEST(FindLostWritesTest, DeletedKeyMustStayDeletedAndTtlKeysAreSkipped) {
  lincheck::OpInput ttl = lincheck::SetInput("t", "x");
  ttl.has_ttl = true;
  std::vector<Operation> ops = {
      Op(1, lincheck::SetInput("k", "a"), lincheck::SetOk(1), 0, 10),
      Op(1, lincheck::DeleteInput("k"), lincheck::DeleteOk(true), 20, 30),
      Op(0, lincheck::GetInput("k"), lincheck::GetFound("a"), 100, 110),
      Op(1, ttl, lincheck::SetOk(1), 0, 10),
      Op(0, lincheck::GetInput("t"), lincheck::GetNotFound(), 100, 110)};
  auto lost = FindLostWrites(ops);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].rfind("k:", 0), 0u);
}

TEST(FindSanitizerReportsTest, FindsReportsInLogs) {
  auto dir = TempDir::Create("chaos-checks");
  ASSERT_TRUE(dir.ok());
  std::string clean = dir->Join("clean.log");
  std::string bad = dir->Join("bad.log");
  std::ofstream(clean) << "node 1 became leader\n";
  std::ofstream(bad)
      << "ok\n==12==ERROR: AddressSanitizer: heap-use-after-free\n"
      << "x.cc:3:5: runtime error: signed integer overflow\n";
  auto reports = FindSanitizerReports({clean, bad});
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("bad.log"), std::string::npos);
}

TEST(ParseFaultsTest, NamesAndErrors) {
  auto all = ParseFaults("all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 11u);
  auto some = ParseFaults("kill,partition");
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->size(), 2u);
  auto bad = ParseFaults("kill,explode");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("explode"), std::string::npos);
}

}  // namespace
}  // namespace shardkv::test
