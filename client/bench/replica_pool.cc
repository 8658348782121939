#include "client/bench/replica_pool.h"

#include "client/endpoint_set.h"

namespace shardkv::bench {

ReplicaPool::ReplicaPool(const ReplicaPoolOptions& options)
    : options_(options) {}

// The batchers wait for their calls in flight; the channels and stubs they
// use go with them, in the replica's member order (batcher first).
ReplicaPool::~ReplicaPool() = default;

ReplicaPool::Replica& ReplicaPool::At(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Replica>& r = replicas_[address];
  if (!r) {
    r = std::make_unique<Replica>();
    r->address = address;
    // The arguments client::EndpointSet uses, so gRPC can share one
    // subchannel (TCP connection) per address with the routing client.
    r->channel =
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                  client::DefaultChannelArguments());
    r->kv = v1::KV::NewStub(r->channel);
    if (options_.batch_in_flight > 0) {
      r->batcher = std::make_unique<KvBatcher>(
          r->kv.get(), options_.batch_in_flight, options_.batch_max_items,
          options_.timeout);
    }
  }
  return *r;
}

size_t ReplicaPool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return replicas_.size();
}

}  // namespace shardkv::bench
