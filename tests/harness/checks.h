// End-of-test checks for the multi-process tests: final reads recorded into
// the history, the linearizability verdict (saving a failing history for
// `lincheck_tool`), and agreement of every replica's applied data.
//
// Stateless functions; thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "testing/lincheck/history.h"
#include "tests/harness/shard_cluster.h"

namespace shardkv::test {

// One key as a replica's applied state has it.
struct StoredValue {
  bool found = false;
  std::string value;
  uint64_t version = 0;
  // Remaining time to live when read (0: none). Not compared: replicas
  // are read one after another, so the remainder differs by the gap.
  int64_t ttl_ms = 0;
  bool operator==(const StoredValue& o) const {
    return found == o.found && value == o.value && version == o.version;
  }
};

// Reads every key linearizably (through the leader) after the workload has
// stopped and records the reads in `history` as client 0. Every read must
// succeed: an acknowledged write that cannot be read back is a failure.
Status RecordFinalReads(const std::vector<std::string>& endpoints,
                        const std::vector<std::string>& keys,
                        lincheck::History* history);

// Checks `history` per key (a per-key search timeout is a failure). On
// failure writes it to `save_path` (JSON lines) and returns the checker's
// summary and the path in the error message.
Status CheckLinearizable(
    const lincheck::History& history, const std::string& save_path,
    std::chrono::seconds budget = std::chrono::seconds(60));

// Stale reads of `keys` on the replica at `address`, over its own channel.
StatusOr<std::map<std::string, StoredValue>> StaleReadAll(
    const std::string& address, const std::vector<std::string>& keys);

// Every node in `ids` returns the same stale value (found, value, version)
// for every key. The replicas are read one after another, so a key with a
// TTL may expire between two of them: a key that differs while one of its
// copies has a TTL is read again on every node once that TTL has passed
// (and must then agree, normally as expired everywhere).
// REQUIRES: the nodes have converged (WaitConverged).
Status CheckReplicasAgree(ShardCluster& cluster, const std::vector<NodeId>& ids,
                          const std::vector<std::string>& keys);

}  // namespace shardkv::test
