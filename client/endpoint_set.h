// The replicas a client talks to: one grpc::Channel (and KV/Admin/Controller
// stubs) per address, plus which one is believed to lead. The same type
// serves a shard's replicas and the controller group's.
//
// Thread-safe. Endpoints are only ever added (when a NOT_LEADER hint names an
// address that was not configured), never removed, so an Endpoint& stays
// valid for the EndpointSet's lifetime.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shardkv/v1/controller.grpc.pb.h"
#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::client {

// Largest message a client sends or accepts: the server's default value
// limit is 1 MiB and it can be raised to 4 MiB; the headroom covers the key
// and the envelope so an oversized value is rejected by the server with a
// clear INVALID_ARGUMENT rather than by the transport.
inline constexpr int kMaxMessageBytes = 4 * 1024 * 1024 + 64 * 1024;

struct Endpoint {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::KV::Stub> kv;
  std::unique_ptr<v1::Admin::Stub> admin;
  std::unique_ptr<v1::Controller::Stub> controller;
};

// Channel arguments used for every shardkv connection: explicit message size
// limits, keepalive (to notice dead peers on idle connections) and a short
// reconnect backoff (a restarted replica is reachable again quickly).
grpc::ChannelArguments DefaultChannelArguments();

class EndpointSet {
 public:
  // REQUIRES: !addresses.empty()
  explicit EndpointSet(const std::vector<std::string>& addresses);

  EndpointSet(const EndpointSet&) = delete;
  EndpointSet& operator=(const EndpointSet&) = delete;

  size_t size() const;
  Endpoint& at(size_t index);

  // Index of the replica believed to lead (the first one until told).
  size_t leader() const { return leader_.load(std::memory_order_relaxed); }
  void set_leader(size_t index) {
    leader_.store(index, std::memory_order_relaxed);
  }

  // Moves the leader guess from `expected` to `index` unless another caller
  // already moved it (avoids racing callers skipping a replica).
  void CompareAndSetLeader(size_t expected, size_t index) {
    leader_.compare_exchange_strong(expected, index, std::memory_order_relaxed);
  }

  // The index of `address`, adding an endpoint when it is new.
  size_t IndexOf(const std::string& address);

  // Where a stale read starts: the first endpoint, or successive ones when
  // `spread` is set (round-robin over the replicas).
  size_t NextReplica(bool spread);

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // GUARDED_BY(mu_)
  std::atomic<size_t> leader_{0};
  std::atomic<size_t> round_robin_{0};
};

}  // namespace shardkv::client
