#include "client/bench/workload.h"

#include <cstdio>

namespace shardkv::bench {

const char* OpTypeName(OpType type) {
  return type == OpType::kRead ? "read" : "write";
}

Workload::Workload(const WorkloadOptions& options) : options_(options) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> printable('a', 'z');
  value_.resize(options_.value_size);
  for (char& c : value_) c = static_cast<char>(printable(rng));
}

Operation Workload::Next(std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<uint64_t> key(0, options_.keys - 1);
  Operation op;
  op.type = coin(rng) < options_.read_ratio ? OpType::kRead : OpType::kWrite;
  op.key_index = key(rng);
  return op;
}

std::string Workload::KeyName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%010llu",
                static_cast<unsigned long long>(index));
  return buf;
}

}  // namespace shardkv::bench
