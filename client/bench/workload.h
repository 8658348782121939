// What a benchmark client does next: YCSB's core workloads (A, B, C, D, F)
// or a custom read/update mix, over keys chosen uniformly, by YCSB's
// scrambled zipfian, or skewed to the latest inserts (workload D), with
// fixed-size values. Kept apart from targets and the loop so every target
// gets the same request stream and the same key and value bytes.
//
// Targets only ever see kRead and kWrite (an update); the loop turns an
// insert into a write of a new key and a read-modify-write into a read then
// a write of the same key (closed_loop.h).
//
// A Workload is thread-safe: it is immutable after construction except for
// the insert counter, which is atomic; each client passes its own random
// generator.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "client/bench/zipfian.h"
#include "common/status.h"

namespace shardkv::bench {

enum class OpType { kRead = 0, kWrite = 1, kInsert = 2, kReadModifyWrite = 3 };
inline constexpr int kOpTypeCount = 4;
// "read", "update", "insert", "rmw".
const char* OpTypeName(OpType type);

enum class KeyDistribution { kUniform, kZipfian, kLatest };
const char* DistributionName(KeyDistribution distribution);
// "uniform", "zipfian" or "latest".
StatusOr<KeyDistribution> ParseDistribution(const std::string& name);

struct Operation {
  OpType type = OpType::kRead;
  uint64_t key_index = 0;
};

struct WorkloadOptions {
  uint64_t keys = 100'000;  // records loaded before the run
  uint64_t value_size = 256;
  // Operation proportions; they need not sum to 1 (they are normalised).
  double read_ratio = 0.5;
  double update_ratio = 0.5;
  double insert_ratio = 0;
  double rmw_ratio = 0;
  KeyDistribution distribution = KeyDistribution::kUniform;
  std::string name = "custom";  // "A".."F" for the YCSB presets
};

// YCSB core workload `name` ("A", "B", "C", "D" or "F", any case) with its
// standard mix and distribution (zipfian; D: latest). Keys and value size are
// left at their defaults for the caller to set.
StatusOr<WorkloadOptions> YcsbWorkload(const std::string& name);

class Workload {
 public:
  explicit Workload(const WorkloadOptions& options);

  Operation Next(std::mt19937_64& rng) const;
  // "key-0000000042": fixed width, so every key has the same size.
  static std::string KeyName(uint64_t index);
  // The value written by every write (random bytes, generated once).
  const std::string& value() const { return value_; }
  const WorkloadOptions& options() const { return options_; }
  // Keys that exist or are being inserted: options().keys plus inserts.
  uint64_t key_count() const { return next_insert_.load(); }

 private:
  uint64_t ChooseExisting(std::mt19937_64& rng) const;

  WorkloadOptions options_;
  std::string value_;
  // Cumulative thresholds for read, update, insert (rmw is the rest).
  double read_below_ = 0, update_below_ = 0, insert_below_ = 0;
  std::unique_ptr<ScrambledZipfian> scrambled_;
  std::unique_ptr<ZipfianGenerator> latest_;  // distance from the newest key
  mutable std::atomic<uint64_t> next_insert_;
};

}  // namespace shardkv::bench
