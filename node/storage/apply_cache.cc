#include "node/storage/apply_cache.h"

#include <iterator>
#include <utility>

namespace shardkv::storage {
namespace {

// Moves every entry of `from` into `to`, overwriting, and evicting an
// arbitrary other entry when full (the first in iteration order: O(1) in
// libstdc++, and unrelated to recency, which is good enough for a cache
// whose misses cost one RocksDB read). New keys move their node over
// instead of allocating another and copying the key.
template <typename Map>
void MoveBounded(Map* from, Map* to, size_t limit) {
  for (auto it = from->begin(); it != from->end();) {
    auto next = std::next(it);
    auto found = to->find(it->first);
    if (found != to->end()) {
      found->second = std::move(it->second);
    } else if (limit > 0) {
      if (to->size() >= limit) to->erase(to->begin());
      to->insert(from->extract(it));
    }
    it = next;
  }
  from->clear();
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
  MoveBounded(&overlay.records, &records_, max_records_);
  MoveBounded(&overlay.sessions, &sessions_, max_sessions_);
}

void ApplyCache::Clear() {
  records_.clear();
  sessions_.clear();
}

}  // namespace shardkv::storage
