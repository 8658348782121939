#include "client/bench/workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "client/bench/pacing.h"
#include "client/bench/zipfian.h"

namespace shardkv::bench {
namespace {

TEST(ZipfianTest, FrequenciesFollowThePowerLaw) {
  constexpr uint64_t kItems = 1000;
  ZipfianGenerator zipf(kItems, kYcsbZipfianTheta);
  std::mt19937_64 rng(7);
  std::vector<int> counts(kItems, 0);
  constexpr int kDraws = 400'000;
  for (int i = 0; i < kDraws; ++i) {
    uint64_t v = zipf.Next(rng);
    ASSERT_LT(v, kItems);
    ++counts[v];
  }
  // P(rank 0) = 1 / zeta(n); rank 0 over rank k = (k + 1)^theta.
  double zeta = ZipfianGenerator::Zeta(kItems, kYcsbZipfianTheta);
  EXPECT_NEAR(counts[0] / double(kDraws), 1 / zeta, 0.005);
  EXPECT_NEAR(double(counts[0]) / counts[1], std::pow(2, 0.99), 0.1);
  EXPECT_NEAR(double(counts[0]) / counts[9], std::pow(10, 0.99), 1.0);
  // Monotone head, long tail: the top 10 % of items take most draws.
  int head = 0;
  for (int i = 0; i < 100; ++i) head += counts[i];
  EXPECT_GT(head, kDraws * 6 / 10);
  EXPECT_LT(head, kDraws * 8 / 10);
}

TEST(ZipfianTest, ScrambledSpreadsTheHotKeysOverTheKeySpace) {
  constexpr uint64_t kItems = 100'000;
  ScrambledZipfian zipf(kItems);
  std::mt19937_64 rng(3);
  std::map<uint64_t, int> counts;
  constexpr int kDraws = 200'000;
  for (int i = 0; i < kDraws; ++i) {
    uint64_t v = zipf.Next(rng);
    ASSERT_LT(v, kItems);
    ++counts[v];
  }
  std::vector<int> sorted;
  for (const auto& [key, n] : counts) sorted.push_back(n);
  std::sort(sorted.rbegin(), sorted.rend());
  // YCSB's hottest key: 1 / zeta(10^10, 0.99) = 3.8 % of the draws.
  EXPECT_NEAR(sorted[0] / double(kDraws), 1 / 26.469, 0.006);
  // The hottest key is not simply index 0 (the scramble moved it).
  EXPECT_NE(counts.begin()->second, sorted[0]);
  EXPECT_GT(counts.size(), 20'000u);
  // FNV-1a 64 over 8 little-endian bytes, then Java's Math.abs (values
  // computed independently in Python).
  EXPECT_EQ(YcsbFnvHash64(0), 0x573807cdd7e5c63bULL);
  EXPECT_EQ(YcsbFnvHash64(12345), 0x18e14e7a1d1233b4ULL);
}

double Share(const std::map<OpType, int>& counts, OpType t, int total) {
  auto it = counts.find(t);
  return it == counts.end() ? 0 : it->second / double(total);
}

TEST(WorkloadTest, YcsbPresetsHaveTheirMixes) {
  struct Expect {
    const char* name;
    double read, update, insert, rmw;
  };
  for (const Expect& e :
       {Expect{"A", 0.5, 0.5, 0, 0}, Expect{"b", 0.95, 0.05, 0, 0},
        Expect{"C", 1, 0, 0, 0}, Expect{"D", 0.95, 0, 0.05, 0},
        Expect{"F", 0.5, 0, 0, 0.5}}) {
    auto options = YcsbWorkload(e.name);
    ASSERT_TRUE(options.ok()) << e.name;
    options->keys = 1000;
    Workload w(*options);
    std::mt19937_64 rng(11);
    std::map<OpType, int> counts;
    constexpr int kOps = 40'000;
    for (int i = 0; i < kOps; ++i) ++counts[w.Next(rng).type];
    EXPECT_NEAR(Share(counts, OpType::kRead, kOps), e.read, 0.01) << e.name;
    EXPECT_NEAR(Share(counts, OpType::kWrite, kOps), e.update, 0.01) << e.name;
    EXPECT_NEAR(Share(counts, OpType::kInsert, kOps), e.insert, 0.01) << e.name;
    EXPECT_NEAR(Share(counts, OpType::kReadModifyWrite, kOps), e.rmw, 0.01)
        << e.name;
  }
  EXPECT_FALSE(YcsbWorkload("E").ok());
  EXPECT_FALSE(ParseDistribution("gaussian").ok());
}

TEST(WorkloadTest, CustomMixAndUniformKeys) {
  WorkloadOptions wo;
  wo.keys = 10;
  wo.read_ratio = 0.9;
  wo.update_ratio = 0.1;
  wo.value_size = 33;
  Workload w(wo);
  EXPECT_EQ(w.value().size(), 33u);
  std::mt19937_64 rng(1);
  int reads = 0;
  std::vector<int> per_key(10, 0);
  for (int i = 0; i < 10000; ++i) {
    Operation op = w.Next(rng);
    ASSERT_LT(op.key_index, 10u);
    ++per_key[op.key_index];
    reads += op.type == OpType::kRead;
  }
  EXPECT_NEAR(reads, 9000, 300);
  for (int n : per_key) EXPECT_NEAR(n, 1000, 150);
  EXPECT_EQ(Workload::KeyName(42), "key-0000000042");
}

TEST(WorkloadTest, InsertsTakeNewKeysAndLatestReadsFavourThem) {
  auto options = YcsbWorkload("D");
  ASSERT_TRUE(options.ok());
  options->keys = 1000;
  Workload w(*options);
  std::mt19937_64 rng(5);
  uint64_t next_new = 1000;
  int recent_reads = 0, reads = 0;
  for (int i = 0; i < 20'000; ++i) {
    Operation op = w.Next(rng);
    if (op.type == OpType::kInsert) {
      EXPECT_EQ(op.key_index, next_new++);
      continue;
    }
    ASSERT_LT(op.key_index, w.key_count());
    ++reads;
    recent_reads += op.key_index + 10 >= w.key_count();
  }
  EXPECT_EQ(w.key_count(), next_new);
  EXPECT_GT(next_new, 1000u + 800);
  // Zipfian over distance from the newest key: the 10 newest take ~40 %.
  EXPECT_GT(recent_reads, reads * 3 / 10);
}

TEST(PacingTest, SpreadsTheRateEvenlyOverClients) {
  auto start = PacingSchedule::Clock::now();
  PacingSchedule schedule(start, 1000, 4);  // 1 ms apart, 4 ms per client
  using std::chrono::microseconds;
  auto at = [&](int c, uint64_t n) {
    return std::chrono::duration_cast<microseconds>(schedule.Intended(c, n) -
                                                    start)
        .count();
  };
  EXPECT_EQ(at(0, 0), 0);
  EXPECT_EQ(at(1, 0), 1000);
  EXPECT_EQ(at(3, 0), 3000);
  EXPECT_EQ(at(0, 1), 4000);
  EXPECT_EQ(at(2, 250), 1'002'000);
  // Over all clients, exactly `rate` operations fall in each second.
  int in_first_second = 0;
  for (int c = 0; c < 4; ++c) {
    for (uint64_t n = 0; n < 1000; ++n) in_first_second += at(c, n) < 1'000'000;
  }
  EXPECT_EQ(in_first_second, 1000);
}

}  // namespace
}  // namespace shardkv::bench
