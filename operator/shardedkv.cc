#include "operator/shardedkv.h"

#include "common/duration.h"

namespace shardkv::op {
namespace {

bool PowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

// The integer at `key` of `object`, or `fallback` when absent.
StatusOr<int> IntField(const Json& object, const char* key, int fallback) {
  if (!object.contains(key)) return fallback;
  const Json& value = object[key];
  if (!value.is_number_integer()) {
    return InvalidArgument(std::string("spec.") + key + " is not an integer");
  }
  return value.get<int>();
}

std::string StringField(const Json& object, const char* key,
                        const std::string& fallback) {
  if (!object.contains(key)) return fallback;
  const Json& value = object[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();  // int-or-string quantities
  return fallback;
}

}  // namespace

StatusOr<ShardedKV> ParseShardedKV(const Json& object) {
  if (!object.is_object()) return InvalidArgument("ShardedKV is not an object");
  if (object.value("kind", "") != kKind) {
    return InvalidArgument("not a ShardedKV: kind " + object.value("kind", ""));
  }
  ShardedKV kv;
  const Json meta = object.value("metadata", Json::object());
  kv.name = meta.value("name", "");
  kv.ns = meta.value("namespace", "");
  kv.uid = meta.value("uid", "");
  kv.generation = meta.value("generation", int64_t{0});
  if (kv.name.empty() || kv.ns.empty()) {
    return InvalidArgument("ShardedKV without a name or namespace");
  }
  const Json spec = object.value("spec", Json::object());
  const std::string where = "ShardedKV " + kv.ns + "/" + kv.name + ": ";
  StatusOr<int> shards = IntField(spec, "shards", kv.shards);
  StatusOr<int> replicas =
      IntField(spec, "replicasPerShard", kv.replicas_per_shard);
  StatusOr<int> controllers =
      IntField(spec, "controllerReplicas", kv.controller_replicas);
  StatusOr<int> slots = IntField(spec, "slotCount", kv.slot_count);
  for (const StatusOr<int>* field :
       {&shards, &replicas, &controllers, &slots}) {
    if (!field->ok()) return InvalidArgument(where + field->status().message());
  }
  kv.shards = *shards;
  kv.replicas_per_shard = *replicas;
  kv.controller_replicas = *controllers;
  kv.slot_count = *slots;
  if (kv.shards < 1) return InvalidArgument(where + "spec.shards must be >= 1");
  if (kv.replicas_per_shard < 1 || kv.replicas_per_shard % 2 == 0 ||
      kv.controller_replicas < 1 || kv.controller_replicas % 2 == 0) {
    return InvalidArgument(where + "replica counts must be odd and >= 1");
  }
  if (!PowerOfTwo(kv.slot_count) || kv.slot_count > 65536) {
    return InvalidArgument(where +
                           "spec.slotCount must be a power of two <= 65536");
  }
  if (kv.shards > kv.slot_count) {
    return InvalidArgument(where + "spec.shards exceeds spec.slotCount");
  }
  kv.image = spec.value("image", "");
  kv.image_pull_policy = spec.value("imagePullPolicy", "");
  kv.resources = spec.value("resources", Json::object());
  const Json storage = spec.value("storage", Json::object());
  kv.storage_size = StringField(storage, "size", kv.storage_size);
  kv.storage_class = storage.value("storageClassName", "");
  kv.retain_on_scale_in = storage.value("retainOnScaleIn", true);
  StatusOr<std::chrono::milliseconds> replace_after =
      ParseDuration(spec.value("replaceAfter", "5m"));
  if (!replace_after.ok()) {
    return InvalidArgument(
        where + "spec.replaceAfter: " + replace_after.status().message());
  }
  kv.replace_after = *replace_after;
  kv.pod_template = spec.value("podTemplate", Json::object());
  return kv;
}

}  // namespace shardkv::op
