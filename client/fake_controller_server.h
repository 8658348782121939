// Test double: an in-process gRPC server on 127.0.0.1:<ephemeral>
// implementing shardkv.v1.Controller with scripted unary answers (Script,
// fake_shard_server.h) and a WatchMap stream fed by Publish(): every stream
// sends all published maps in order (from the first, whatever their epoch,
// so tests can replay an older map) and then each later one, until the
// client cancels or the server shuts down. Used by the client tests only.
//
// Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/fake_shard_server.h"
#include "shardkv/v1/controller.grpc.pb.h"

namespace shardkv::client::testing {

class FakeControllerServer {
 public:
  FakeControllerServer();
  ~FakeControllerServer();

  const std::string& address() const { return address_; }
  void Shutdown();

  // Appends `map` to what every WatchMap stream sends.
  void Publish(const v1::SlotMap& map);
  // WatchMap streams opened so far.
  int watch_calls() const;

  Script<v1::GetMapRequest, v1::SlotMap> get_map;
  Script<v1::JoinShardRequest, v1::SlotMap> join_shard;
  Script<v1::DrainShardRequest, v1::SlotMap> drain_shard;
  Script<v1::CancelDrainRequest, v1::SlotMap> cancel_drain;
  Script<v1::RemoveShardRequest, v1::SlotMap> remove_shard;
  Script<v1::MoveSlotRequest, v1::MoveSlotResponse> move_slot;
  Script<v1::RebalanceRequest, v1::RebalanceResponse> rebalance;

 private:
  class Service;
  friend class Service;

  mutable std::mutex mu_;
  std::condition_variable published_cv_;
  std::vector<v1::SlotMap> published_;  // GUARDED_BY(mu_)
  int watch_calls_ = 0;                 // GUARDED_BY(mu_)
  bool shutting_down_ = false;          // GUARDED_BY(mu_)

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// A map of `slot_count` slots at `epoch`: slot s is owned by
// owners[s * owners.size() / slot_count] (contiguous ranges), and shard i+1
// has the members `addresses[i]` (ids 1, 2, ...; the first one listed
// first).
v1::SlotMap MakeSlotMap(uint64_t epoch, uint32_t slot_count,
                        const std::vector<uint32_t>& owners,
                        const std::vector<std::vector<std::string>>& addresses);

}  // namespace shardkv::client::testing
