// A log-bucketed latency histogram in the style of HdrHistogram: values
// below 128 are exact; above, each power-of-two range is split into 64
// buckets, so any recorded value is reported within 1/64 (1.6 %) of itself.
// Covers the whole uint64 range in ~3,800 counters (30 KiB), records in O(1)
// and merges by adding counters.
//
// Not thread-safe: give each recording thread (or closed-loop client) its
// own Histogram and Merge() them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace shardkv::bench {

class Histogram {
 public:
  Histogram();

  void Record(uint64_t value);
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;

  // The smallest recorded-bucket bound v such that at least `quantile` of the
  // values are <= v, clamped to max(). quantile in [0, 1]; 0 when empty.
  uint64_t Percentile(double quantile) const;

  // Bucket arithmetic, exposed for tests.
  static size_t BucketOf(uint64_t value);
  static uint64_t BucketLow(size_t bucket);
  static uint64_t BucketHigh(size_t bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace shardkv::bench
