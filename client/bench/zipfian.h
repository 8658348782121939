// YCSB's key choosers, ported from its generator package so our request
// stream has the same skew as published YCSB numbers:
//  - ZipfianGenerator: item i in [0, items) with probability proportional to
//    1 / (i + 1)^theta (Gray et al.'s rejection-free method, as in YCSB).
//  - ScrambledZipfian: YCSB's default for workloads A/B/C/F. A zipfian over
//    10^10 items (theta 0.99, YCSB's precomputed zeta) hashed with FNV-1a 64
//    into [0, items): the popular keys are spread over the key space instead
//    of being the lowest indexes.
//
// Both are immutable after construction and thread-safe; callers pass their
// own random generator.
#pragma once

#include <cstdint>
#include <random>

namespace shardkv::bench {

inline constexpr double kYcsbZipfianTheta = 0.99;

// YCSB's Utils.fnvhash64: FNV-1a over the 8 little-endian bytes of `value`,
// made non-negative as Java's Math.abs would.
uint64_t YcsbFnvHash64(uint64_t value);

class ZipfianGenerator {
 public:
  // `items` > 0. Computes zeta(items) in O(items) unless `zeta_items` is
  // given (YCSB's trick for huge item counts).
  ZipfianGenerator(uint64_t items, double theta, double zeta_items = 0);

  uint64_t Next(std::mt19937_64& rng) const;
  uint64_t items() const { return items_; }

  static double Zeta(uint64_t n, double theta);

 private:
  uint64_t items_;
  double theta_;
  double zeta_items_;
  double alpha_;
  double eta_;
  double half_pow_theta_;
};

class ScrambledZipfian {
 public:
  explicit ScrambledZipfian(uint64_t items);
  uint64_t Next(std::mt19937_64& rng) const;

 private:
  uint64_t items_;
  ZipfianGenerator zipfian_;
};

}  // namespace shardkv::bench
