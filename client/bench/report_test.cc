#include "client/bench/report.h"

#include <gtest/gtest.h>

namespace shardkv::bench {
namespace {

TEST(ReportJsonTest, CarriesRatesPercentilesAndErrorsPerOperation) {
  LoopResult result;
  result.measured = std::chrono::seconds(2);
  OpStats& reads = result.ops[static_cast<int>(OpType::kRead)];
  for (uint64_t us = 1; us <= 100; ++us) reads.latency_us.Record(us * 1000);
  reads.ok = 100;
  OpStats& rmw = result.ops[static_cast<int>(OpType::kReadModifyWrite)];
  rmw.latency_us.Record(5000);
  rmw.ok = 1;
  rmw.errors[Code::kUnavailable] = 3;

  nlohmann::json j = ReportJson(result, {{"target", "etcd"}});
  EXPECT_EQ(j["parameters"]["target"], "etcd");
  EXPECT_DOUBLE_EQ(j["measured_s"].get<double>(), 2.0);
  const auto& r = j["operations"]["read"];
  EXPECT_DOUBLE_EQ(r["ops_per_s"].get<double>(), 50.0);
  EXPECT_EQ(r["ok"], 100);
  // Within the histogram's 1/64 precision.
  EXPECT_NEAR(r["latency_ms"]["p50"].get<double>(), 50, 1);
  EXPECT_NEAR(r["latency_ms"]["p99"].get<double>(), 99, 1.6);
  EXPECT_NEAR(r["latency_ms"]["max"].get<double>(), 100, 1.6);
  EXPECT_NEAR(r["latency_ms"]["mean"].get<double>(), 50.5, 0.1);
  EXPECT_TRUE(r["errors"].empty());
  EXPECT_EQ(j["operations"]["rmw"]["errors"]["UNAVAILABLE"], 3);
  EXPECT_FALSE(j["operations"].contains("update"));
  EXPECT_FALSE(j["operations"].contains("insert"));
  EXPECT_EQ(j["total"]["ok"], 101);
  EXPECT_EQ(j["total"]["errors"]["UNAVAILABLE"], 3);
  // Round-trips through text.
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

TEST(ReportTest, TextNamesEachOperationType) {
  LoopResult result;
  result.measured = std::chrono::seconds(1);
  result.ops[static_cast<int>(OpType::kInsert)].ok = 7;
  result.ops[static_cast<int>(OpType::kInsert)].latency_us.Record(10);
  std::string text = FormatReport(result);
  EXPECT_NE(text.find("insert"), std::string::npos);
  EXPECT_EQ(text.find("update"), std::string::npos);
  EXPECT_NE(text.find("errors   none"), std::string::npos);
}

}  // namespace
}  // namespace shardkv::bench
