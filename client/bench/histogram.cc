#include "client/bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace shardkv::bench {
namespace {

constexpr int kSubBits = 7;                     // 128 exact values
constexpr uint64_t kSubCount = 1u << kSubBits;  // 128
constexpr uint64_t kHalf = kSubCount / 2;       // buckets per power of two
constexpr size_t kBucketCount = (64 - kSubBits + 1) * kHalf + kHalf;

}  // namespace

// Values below kSubCount map to themselves. A larger value with its highest
// bit at position kSubBits - 1 + g (g >= 1) keeps its top kSubBits bits as
// mantissa m in [kHalf, kSubCount): bucket g * kHalf + m, contiguous with
// the exact range.
size_t Histogram::BucketOf(uint64_t value) {
  if (value < kSubCount) return static_cast<size_t>(value);
  int msb = 63 - std::countl_zero(value);
  int g = msb - kSubBits + 1;
  uint64_t m = value >> g;
  return static_cast<size_t>(g * kHalf + m);
}

uint64_t Histogram::BucketLow(size_t bucket) {
  if (bucket < kSubCount) return bucket;
  uint64_t g = bucket / kHalf - 1;
  uint64_t m = bucket - g * kHalf;
  return m << g;
}

uint64_t Histogram::BucketHigh(size_t bucket) {
  if (bucket < kSubCount) return bucket;
  uint64_t g = bucket / kHalf - 1;
  uint64_t m = bucket - g * kHalf;
  return ((m + 1) << g) - 1;  // wraps to UINT64_MAX for the last bucket
}

Histogram::Histogram() : counts_(kBucketCount, 0) {}

void Histogram::Record(uint64_t value) {
  ++counts_[BucketOf(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t Histogram::Percentile(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  auto rank =
      static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHigh(i), min(), max_);
  }
  return max_;
}

}  // namespace shardkv::bench
