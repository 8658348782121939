#include "client/shard_endpoints.h"

#include <algorithm>

#include "client/slot_map_cache.h"

namespace shardkv::client {

std::shared_ptr<EndpointSet> ShardEndpoints::For(const v1::SlotMap& map,
                                                 uint32_t shard_id) {
  {
    // Fast path: the set was checked against this very epoch already.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = shards_.find(shard_id);
    // A caller holding an older map than the one the set was built from
    // gets the newer set too.
    if (it != shards_.end() && it->second.epoch >= map.epoch()) {
      return it->second.set;
    }
  }
  const v1::Shard* shard = FindShard(map, shard_id);
  if (shard == nullptr) return nullptr;
  std::vector<std::string> addresses;
  // Voters first: with no leader known, a learner is the worst first guess.
  for (bool learners : {false, true}) {
    for (const v1::Member& m : shard->members()) {
      if (m.learner() == learners && !m.address().empty()) {
        addresses.push_back(m.address());
      }
    }
  }
  if (addresses.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = shards_[shard_id];
  if (entry.set && entry.addresses == addresses) {
    entry.epoch = std::max(entry.epoch, map.epoch());
    return entry.set;
  }
  auto set = std::make_shared<EndpointSet>(addresses);
  if (entry.set) {
    // Keep the leader we learned if it is still a member.
    const std::string& leader = entry.set->at(entry.set->leader()).address;
    for (size_t i = 0; i < addresses.size(); ++i) {
      if (addresses[i] == leader) set->set_leader(i);
    }
  }
  entry.addresses = std::move(addresses);
  entry.set = set;
  entry.epoch = map.epoch();
  return set;
}

}  // namespace shardkv::client
