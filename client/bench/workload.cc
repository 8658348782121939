#include "client/bench/workload.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace shardkv::bench {

const char* OpTypeName(OpType type) {
  switch (type) {
    case OpType::kRead:
      return "read";
    case OpType::kWrite:
      return "update";
    case OpType::kInsert:
      return "insert";
    case OpType::kReadModifyWrite:
      return "rmw";
  }
  return "?";
}

const char* DistributionName(KeyDistribution distribution) {
  switch (distribution) {
    case KeyDistribution::kUniform:
      return "uniform";
    case KeyDistribution::kZipfian:
      return "zipfian";
    case KeyDistribution::kLatest:
      return "latest";
  }
  return "?";
}

StatusOr<KeyDistribution> ParseDistribution(const std::string& name) {
  if (name == "uniform") return KeyDistribution::kUniform;
  if (name == "zipfian") return KeyDistribution::kZipfian;
  if (name == "latest") return KeyDistribution::kLatest;
  return InvalidArgument("unknown key distribution \"" + name +
                         "\" (uniform, zipfian or latest)");
}

StatusOr<WorkloadOptions> YcsbWorkload(const std::string& name) {
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  WorkloadOptions o;
  o.name = upper;
  o.distribution = KeyDistribution::kZipfian;
  o.read_ratio = o.update_ratio = o.insert_ratio = o.rmw_ratio = 0;
  if (upper == "A") {
    o.read_ratio = 0.5;
    o.update_ratio = 0.5;
  } else if (upper == "B") {
    o.read_ratio = 0.95;
    o.update_ratio = 0.05;
  } else if (upper == "C") {
    o.read_ratio = 1;
  } else if (upper == "D") {
    o.read_ratio = 0.95;
    o.insert_ratio = 0.05;
    o.distribution = KeyDistribution::kLatest;
  } else if (upper == "F") {
    o.read_ratio = 0.5;
    o.rmw_ratio = 0.5;
  } else {
    return InvalidArgument("unknown YCSB workload \"" + name +
                           "\" (A, B, C, D or F; E needs scans)");
  }
  return o;
}

Workload::Workload(const WorkloadOptions& options)
    : options_(options), next_insert_(std::max<uint64_t>(options.keys, 1)) {
  options_.keys = std::max<uint64_t>(options_.keys, 1);
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> printable('a', 'z');
  value_.resize(options_.value_size);
  for (char& c : value_) c = static_cast<char>(printable(rng));
  double total = options_.read_ratio + options_.update_ratio +
                 options_.insert_ratio + options_.rmw_ratio;
  if (total <= 0) {  // nothing asked for: reads only
    read_below_ = update_below_ = insert_below_ = 1;
  } else {
    read_below_ = options_.read_ratio / total;
    update_below_ = read_below_ + options_.update_ratio / total;
    insert_below_ = update_below_ + options_.insert_ratio / total;
  }
  if (options_.distribution == KeyDistribution::kZipfian) {
    scrambled_ = std::make_unique<ScrambledZipfian>(options_.keys);
  } else if (options_.distribution == KeyDistribution::kLatest) {
    latest_ =
        std::make_unique<ZipfianGenerator>(options_.keys, kYcsbZipfianTheta);
  }
}

uint64_t Workload::ChooseExisting(std::mt19937_64& rng) const {
  switch (options_.distribution) {
    case KeyDistribution::kUniform:
      return std::uniform_int_distribution<uint64_t>(0, options_.keys - 1)(rng);
    case KeyDistribution::kZipfian:
      return scrambled_->Next(rng);
    case KeyDistribution::kLatest: {
      // YCSB's SkewedLatestGenerator: the newest key is the most popular.
      // Our zipfian's item count stays at the loaded record count (YCSB
      // grows it with every insert); over a run of a few % inserts that
      // changes the tail of the skew, not its head.
      uint64_t newest = next_insert_.load(std::memory_order_relaxed) - 1;
      uint64_t back = latest_->Next(rng);
      return back > newest ? 0 : newest - back;
    }
  }
  return 0;
}

Operation Workload::Next(std::mt19937_64& rng) const {
  double coin = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  Operation op;
  if (coin < read_below_) {
    op.type = OpType::kRead;
  } else if (coin < update_below_) {
    op.type = OpType::kWrite;
  } else if (coin < insert_below_) {
    op.type = OpType::kInsert;
    op.key_index = next_insert_.fetch_add(1, std::memory_order_relaxed);
    return op;
  } else {
    op.type = OpType::kReadModifyWrite;
  }
  op.key_index = ChooseExisting(rng);
  return op;
}

std::string Workload::KeyName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%010llu",
                static_cast<unsigned long long>(index));
  return buf;
}

}  // namespace shardkv::bench
