#include "client/bench/zipfian.h"

#include <algorithm>
#include <cmath>

namespace shardkv::bench {
namespace {

// YCSB's ScrambledZipfianGenerator constants: the underlying zipfian is over
// 10^10 items, whose zeta (theta 0.99) YCSB hard-codes.
constexpr uint64_t kScrambledItems = 10'000'000'000ULL;
constexpr double kScrambledZeta = 26.46902820178302;

}  // namespace

uint64_t YcsbFnvHash64(uint64_t value) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= value & 0xff;
    hash *= 1099511628211ULL;
    value >>= 8;
  }
  // Java's Math.abs on a long; Long.MIN_VALUE stays itself.
  auto as_signed = static_cast<int64_t>(hash);
  if (as_signed < 0 && as_signed != INT64_MIN) as_signed = -as_signed;
  return static_cast<uint64_t>(as_signed);
}

double ZipfianGenerator::Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), theta);
  }
  return sum;
}

ZipfianGenerator::ZipfianGenerator(uint64_t items, double theta,
                                   double zeta_items)
    : items_(std::max<uint64_t>(items, 1)),
      theta_(theta),
      zeta_items_(zeta_items > 0 ? zeta_items : Zeta(items_, theta)) {
  double zeta2 = Zeta(2, theta_);
  alpha_ = 1.0 / (1.0 - theta_);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(items_), 1.0 - theta_)) /
         (1.0 - zeta2 / zeta_items_);
  half_pow_theta_ = 1.0 + std::pow(0.5, theta_);
}

uint64_t ZipfianGenerator::Next(std::mt19937_64& rng) const {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  double uz = u * zeta_items_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_theta_) return std::min<uint64_t>(1, items_ - 1);
  auto v = static_cast<uint64_t>(static_cast<double>(items_) *
                                 std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return std::min(v, items_ - 1);
}

ScrambledZipfian::ScrambledZipfian(uint64_t items)
    : items_(std::max<uint64_t>(items, 1)),
      zipfian_(kScrambledItems, kYcsbZipfianTheta, kScrambledZeta) {}

uint64_t ScrambledZipfian::Next(std::mt19937_64& rng) const {
  return YcsbFnvHash64(zipfian_.Next(rng)) % items_;
}

}  // namespace shardkv::bench
