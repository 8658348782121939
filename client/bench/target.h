// The system under benchmark, seen as an asynchronous key-value store. The
// shardkv implementation is shardkv_target.h; etcd and Redis targets will
// implement the same interface.
//
// Thread-safety: Start() may be called from any thread, including from
// inside a `done` callback; a target runs callbacks on its own threads.
#pragma once

#include <functional>
#include <string>

#include "client/bench/workload.h"
#include "common/status.h"

namespace shardkv::bench {

class Target {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~Target() = default;

  // Starts one operation for closed-loop client `client` (0-based; at most
  // one operation per client is in flight). `done` runs exactly once, never
  // inside Start() itself, and must not block. A read of a missing key is a
  // success.
  virtual void Start(int client, OpType type, const std::string& key,
                     const std::string& value, Done done) = 0;
};

}  // namespace shardkv::bench
