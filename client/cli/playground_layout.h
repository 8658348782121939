// The playground's cluster layout, kept in DIR/layout so that a playground
// started again on DIR brings back the same processes (ids, ports, data
// dirs) — including shards added by `playground scale` and a replica
// created by a replacement. Text, one record per line:
//
//   replicas 3          replicas per shard
//   next-port 7011      where the next new process listens
//   slot-count 64       the controller's --slot-count (absent: default)
//   controller 1 127.0.0.1:7001
//   replica 2 1 127.0.0.1:7005 [join]   shard, replica id, address
//
// No controller line = the unsharded single-shard playground (shard 1).
// Plain data; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::cli {

struct PlaygroundProcess {
  uint64_t id = 0;
  std::string address;
  // Started with --join (a replacement replica): it never bootstraps.
  bool join = false;
};

struct PlaygroundLayout {
  int replicas = 3;
  int next_port = 7001;
  int slot_count = 0;  // 0 = the controller's default
  std::vector<PlaygroundProcess> controllers;
  std::map<uint32_t, std::vector<PlaygroundProcess>> shards;

  bool sharded() const { return !controllers.empty(); }
  std::vector<std::string> ControllerAddresses() const;
  // Every address, the controllers first (the "endpoints:" line).
  std::vector<std::string> AllAddresses() const;
};

std::string EncodeLayout(const PlaygroundLayout& layout);
StatusOr<PlaygroundLayout> DecodeLayout(const std::string& text);

// NOT_FOUND when DIR/layout does not exist.
StatusOr<PlaygroundLayout> LoadLayout(const std::string& dir);
// Atomic (write, fsync, rename).
Status SaveLayout(const std::string& dir, const PlaygroundLayout& layout);

// A new playground: controllers on BASE.., then each shard's replicas.
PlaygroundLayout InitialLayout(int shards, int replicas, int controllers,
                               int base_port, int slot_count = 0);

}  // namespace shardkv::cli
