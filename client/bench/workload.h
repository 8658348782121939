// What a benchmark client does next: a read/write mix over a uniform key
// space with fixed-size values. Kept apart from targets and the loop so the
// YCSB workloads (zipfian keys, scans, read-modify-write) can be added here.
//
// A Workload is immutable after construction and thread-safe; each client
// passes its own random generator.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace shardkv::bench {

enum class OpType { kRead = 0, kWrite = 1 };
inline constexpr int kOpTypeCount = 2;
const char* OpTypeName(OpType type);

struct Operation {
  OpType type = OpType::kRead;
  uint64_t key_index = 0;
};

struct WorkloadOptions {
  uint64_t keys = 100'000;
  uint64_t value_size = 256;
  double read_ratio = 0.5;
};

class Workload {
 public:
  explicit Workload(const WorkloadOptions& options);

  Operation Next(std::mt19937_64& rng) const;
  // "key-0000000042": fixed width, so every key has the same size.
  static std::string KeyName(uint64_t index);
  // The value written by every write (random bytes, generated once).
  const std::string& value() const { return value_; }
  const WorkloadOptions& options() const { return options_; }

 private:
  WorkloadOptions options_;
  std::string value_;
};

}  // namespace shardkv::bench
