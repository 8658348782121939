// Target (target.h) for a single Redis server through hiredis: GET for a
// read, SET for a write. hiredis' blocking API gives one connection per
// closed-loop client, so each client gets its own worker thread
// ("redis-c<N>") that owns that connection and runs its one operation at a
// time; a broken connection is reopened on the client's next operation.
//
// Thread-safe per target.h's contract. The destructor joins every worker;
// operations still queued then are dropped without their callback (the
// loop has finished by then).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/bench/target.h"

namespace shardkv::bench {

struct RedisTargetOptions {
  std::string endpoint;  // host:port
  int clients = 64;
  std::chrono::milliseconds timeout{5000};
};

class RedisTarget : public Target {
 public:
  explicit RedisTarget(const RedisTargetOptions& options);
  ~RedisTarget() override;

  // Opens every client's connection and PINGs on each.
  Status Connect();

  void Start(int client, OpType type, const std::string& key,
             const std::string& value, Done done) override;

 private:
  struct Worker;
  void Work(Worker* worker);

  const RedisTargetOptions options_;
  std::string host_;
  int port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace shardkv::bench
