// ReplicaPool: the bench's own connection to each node address it sends
// data requests to, with that address's KvBatcher when batching. Keyed by
// address, not by shard, so a replica keeps its channel and batcher when
// the slot map rebuilds its shard's replica set (client/shard_endpoints.h)
// or moves it to another shard.
//
// Thread-safe. Replicas are only ever added, never removed, so a Replica&
// stays valid for the pool's lifetime. Destroying the pool waits for the
// batched calls in flight (KvBatcher's destructor).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client/bench/kv_batcher.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::bench {

struct ReplicaPoolOptions {
  // 0: no batcher (one call per request); N > 0: a KvBatcher per address
  // with N calls in flight of at most batch_max_items requests each.
  int batch_in_flight = 0;
  int batch_max_items = 256;
  std::chrono::milliseconds timeout{5000};  // of one batched call
};

class ReplicaPool {
 public:
  struct Replica {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::KV::Stub> kv;
    std::unique_ptr<KvBatcher> batcher;  // null when not batching
  };

  explicit ReplicaPool(const ReplicaPoolOptions& options);
  ~ReplicaPool();
  ReplicaPool(const ReplicaPool&) = delete;
  ReplicaPool& operator=(const ReplicaPool&) = delete;

  // The replica at `address`, connected on first use.
  Replica& At(const std::string& address);
  size_t size() const;

 private:
  const ReplicaPoolOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Replica>> replicas_;  // mu_
};

}  // namespace shardkv::bench
