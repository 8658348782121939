#include "client/bench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace shardkv::bench {
namespace {

TEST(HistogramTest, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.99), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.Percentile(1.0), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(HistogramTest, BucketsAreContiguousAndContainTheirValues) {
  for (size_t b = 1; b < 3000; ++b) {
    EXPECT_EQ(Histogram::BucketLow(b), Histogram::BucketHigh(b - 1) + 1) << b;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    size_t b = Histogram::BucketOf(v);
    ASSERT_LE(Histogram::BucketLow(b), v);
    ASSERT_GE(Histogram::BucketHigh(b), v);
  }
  EXPECT_EQ(Histogram::BucketHigh(Histogram::BucketOf(UINT64_MAX)), UINT64_MAX);
}

// Percentiles of a known distribution agree with exact order statistics
// within the histogram's relative precision (1/64).
TEST(HistogramTest, PercentilesMatchSortedSampleWithinPrecision) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency(7.0, 1.2);  // ~1 ms, long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(latency(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    uint64_t exact = values[static_cast<size_t>(q * values.size()) - 1];
    uint64_t got = h.Percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(got, exact + exact / 64 + 1) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
  EXPECT_EQ(h.max(), values.back());
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (uint64_t v = 0; v < 5000; v += 3) {
    (v % 2 ? a : b).Record(v * 17);
    all.Record(v * 17);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double q : {0.1, 0.5, 0.99, 0.999}) {
    EXPECT_EQ(a.Percentile(q), all.Percentile(q)) << q;
  }
}

}  // namespace
}  // namespace shardkv::bench
