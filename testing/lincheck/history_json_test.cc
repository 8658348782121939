#include "testing/lincheck/history_json.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "testing/lincheck/checker.h"
#include "testing/lincheck/random_history.h"

namespace shardkv::lincheck {
namespace {

void ExpectSameOp(const Operation& a, const Operation& b) {
  EXPECT_EQ(DescribeOp(a), DescribeOp(b));
  EXPECT_EQ(OperationToJson(a), OperationToJson(b));
}

TEST(HistoryJsonTest, RoundTripsBinaryAndUnknown) {
  Operation op;
  op.id = 3;
  op.client = 2;
  op.input = SetInput(std::string("k\0\x01\"\\\xff", 6), "v\n\t",
                      Condition::kIfVersion, 7);
  op.input.has_ttl = true;
  op.output = SetOk(8);
  op.call_ns = 100;
  op.return_ns = 200;
  StatusOr<Operation> back = OperationFromJson(OperationToJson(op));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameOp(op, *back);
  EXPECT_EQ(back->input.key, op.input.key);
  EXPECT_TRUE(back->input.has_ttl);

  op.output = UnknownOutcome();
  op.return_ns = kNeverReturned;
  std::string json = OperationToJson(op);
  EXPECT_NE(json.find("\"return_ns\":null"), std::string::npos);
  back = OperationFromJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->return_ns, kNeverReturned);
}

TEST(HistoryJsonTest, RejectsGarbage) {
  EXPECT_FALSE(OperationFromJson("").ok());
  EXPECT_FALSE(OperationFromJson("{\"kind\":\"get\"").ok());
  EXPECT_FALSE(OperationFromJson("{\"kind\":\"frob\",\"condition\":\"none\","
                                 "\"outcome\":\"ok\"}")
                   .ok());
  EXPECT_FALSE(OperationFromJson("{\"kind\":\"get\",\"condition\":\"none\","
                                 "\"outcome\":\"ok\",\"call_ns\":5,"
                                 "\"return_ns\":4}")
                   .ok());
  EXPECT_FALSE(OperationFromJson("{\"key\":\"\\u12\"}").ok());
}

TEST(HistoryJsonTest, FileRoundTripKeepsVerdict) {
  RandomHistoryOptions o;
  o.num_ops = 300;
  std::vector<Operation> ops = GenerateLinearizableHistory(o);
  ASSERT_TRUE(MutateHistory(&ops, Mutation::kReadBeforeWrite, 1));
  const std::string path =
      ::testing::TempDir() + "/history_" + std::to_string(getpid()) + ".jsonl";
  ASSERT_TRUE(WriteHistoryFile(path, ops).ok());
  StatusOr<std::vector<Operation>> back = ReadHistoryFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) ExpectSameOp(ops[i], (*back)[i]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  EXPECT_EQ(Check(*back, deadline).verdict, Verdict::kViolation);
}

TEST(HistoryJsonTest, ReadErrorsNameTheLine) {
  const std::string path =
      ::testing::TempDir() + "/bad_" + std::to_string(getpid()) + ".jsonl";
  {
    std::ofstream out(path);
    Operation op;
    op.input = GetInput("k");
    out << OperationToJson(op) << "\n\nnot json\n";
  }
  StatusOr<std::vector<Operation>> back = ReadHistoryFile(path);
  std::remove(path.c_str());
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find(":3:"), std::string::npos)
      << back.status().message();
  EXPECT_FALSE(ReadHistoryFile(path).ok());  // missing file
}

}  // namespace
}  // namespace shardkv::lincheck
