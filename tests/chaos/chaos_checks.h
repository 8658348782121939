// End-of-run checks of the chaos suite, beyond linearizability (which
// tests/harness/checks.h covers):
//   - lost writes: the last acknowledged write of each key is what the
//     final read returns (or a write that overlapped it);
//   - slot ownership: every slot OWNED by exactly the shard the map names,
//     on every replica;
//   - replicas agree: every replica of a shard holds the same data for the
//     keys it owns;
//   - sanitizer reports in any process log.
//
// Stateless functions; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "testing/lincheck/operation.h"
#include "tests/harness/sharded_cluster.h"

namespace shardkv::test {

// Keys (without TTL writes) whose final read (client 0, the last read of
// the key) shows neither the effect of the last acknowledged write nor of
// a write that may have taken effect after it. One line per key.
std::vector<std::string> FindLostWrites(
    const std::vector<lincheck::Operation>& ops);

Status CheckSlotOwnership(ShardedCluster& cluster, const v1::SlotMap& map);

// REQUIRES: every shard converged (no entries in flight).
Status CheckShardReplicasAgree(ShardedCluster& cluster, const v1::SlotMap& map,
                               const std::vector<std::string>& keys);

// Lines of sanitizer reports (AddressSanitizer, LeakSanitizer, UBSan
// "runtime error:") found in `logs`, with the file name.
std::vector<std::string> FindSanitizerReports(
    const std::vector<std::string>& logs);

}  // namespace shardkv::test
