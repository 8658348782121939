// The ShardedKV custom resource as the operator reads it: the fields of
// crds/shardkv.io_shardedkvs.yaml with the CRD's defaults applied, so code
// downstream never sees a missing field.
//
// Thread-safety: a plain value; ParseShardedKV is a pure function.
// Invariants after a successful parse: shards >= 1, replicas odd,
// slot_count a power of two in [1, 65536], shards <= slot_count, name and
// namespace non-empty. The API server enforces the same rules; they are
// checked again so a CRD installed without them cannot crash the operator.
#ifndef SHARDKV_OPERATOR_SHARDEDKV_H_
#define SHARDKV_OPERATOR_SHARDEDKV_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace shardkv::op {

using Json = nlohmann::json;

inline constexpr char kApiVersion[] = "shardkv.io/v1alpha1";
inline constexpr char kKind[] = "ShardedKV";
inline constexpr int kNodePort = 7001;

struct ShardedKV {
  std::string name;
  std::string ns;
  std::string uid;
  int64_t generation = 0;

  int shards = 1;
  int replicas_per_shard = 3;
  int controller_replicas = 3;
  int slot_count = 4096;
  std::string image;  // empty: the operator's default
  std::string image_pull_policy;
  Json resources = Json::object();
  std::string storage_size = "10Gi";
  std::string storage_class;
  bool retain_on_scale_in = true;
  std::chrono::milliseconds replace_after{std::chrono::minutes(5)};
  Json pod_template = Json::object();
};

// Reads a ShardedKV object (as the API server returns it).
StatusOr<ShardedKV> ParseShardedKV(const Json& object);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_SHARDEDKV_H_
