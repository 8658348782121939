// The replicas of every shard named in the slot map, as one EndpointSet per
// shard (channels, stubs and the shard's believed leader).
//
// A shard's set is rebuilt when the map lists other member addresses for it
// (replica replaced, shard re-joined); the believed leader carries over when
// its address is still a member. Callers hold a shared_ptr to the set they
// are using, so a rebuild never pulls it from under a call. gRPC shares TCP
// connections between channels to the same address, so a rebuild costs no
// reconnect.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/endpoint_set.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::client {

class ShardEndpoints {
 public:
  // The set for `shard_id` as `map` describes it; nullptr when the map does
  // not name the shard or lists no member address for it.
  std::shared_ptr<EndpointSet> For(const v1::SlotMap& map, uint32_t shard_id);

 private:
  struct Entry {
    std::vector<std::string> addresses;
    std::shared_ptr<EndpointSet> set;
    uint64_t epoch = 0;  // the map epoch `addresses` was last checked at
  };
  std::mutex mu_;
  std::map<uint32_t, Entry> shards_;  // GUARDED_BY(mu_)
};

}  // namespace shardkv::client
