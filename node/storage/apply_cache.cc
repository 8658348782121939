#include "node/storage/apply_cache.h"

#include <utility>

namespace shardkv::storage {
namespace {

// Inserts or overwrites, evicting an arbitrary other entry when full (the
// first in iteration order: O(1) in libstdc++, and unrelated to recency,
// which is good enough for a cache whose misses cost one RocksDB read).
template <typename Map, typename Key, typename Value>
void PutBounded(Map* map, size_t limit, Key&& key, Value&& value) {
  auto it = map->find(key);
  if (it != map->end()) {
    it->second = std::forward<Value>(value);
    return;
  }
  if (limit == 0) return;
  if (map->size() >= limit) map->erase(map->begin());
  map->emplace(std::forward<Key>(key), std::forward<Value>(value));
}

}  // namespace

const CachedRecord* ApplyCache::FindRecord(const std::string& data_key) const {
  auto it = records_.find(data_key);
  return it == records_.end() ? nullptr : &it->second;
}

const std::optional<Session>* ApplyCache::FindSession(
    uint64_t client_id) const {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

void ApplyCache::Publish(Overlay&& overlay) {
  for (auto& [key, record] : overlay.records) {
    PutBounded(&records_, max_records_, std::move(key), record);
  }
  for (auto& [client, session] : overlay.sessions) {
    PutBounded(&sessions_, max_sessions_, client, std::move(session));
  }
  overlay.records.clear();
  overlay.sessions.clear();
}

void ApplyCache::Clear() {
  records_.clear();
  sessions_.clear();
}

}  // namespace shardkv::storage
