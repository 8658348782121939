// Target (target.h) for etcd through its v3 gRPC KV API (our wire-compatible
// subset in proto/etcd): a read is a Range of one key, linearizable by
// default (etcd's read index through the leader) or serializable (served by
// the member itself: the "stale" variant); a write is a Put. Closed-loop
// client c talks to endpoint c % N, as etcd's clientv3 spreads its
// connections; every member forwards writes to the leader itself. gRPC's
// callback API, as in shardkv_target.h, so both pay the same client costs.
// No retries: an error is reported as it comes.
//
// Thread-safe per target.h's contract.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/bench/target.h"
#include "etcdserverpb/kv.grpc.pb.h"

namespace shardkv::bench {

struct EtcdTargetOptions {
  std::vector<std::string> endpoints;  // host:port of client URLs (plain)
  bool serializable_reads = false;
  std::chrono::milliseconds timeout{5000};
};

class EtcdTarget : public Target {
 public:
  explicit EtcdTarget(const EtcdTargetOptions& options);
  ~EtcdTarget() override;

  // One linearizable Range on every endpoint: each answers, or the error.
  Status Check();

  void Start(int client, OpType type, const std::string& key,
             const std::string& value, Done done) override;

 private:
  struct Call;

  const EtcdTargetOptions options_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
};

}  // namespace shardkv::bench
