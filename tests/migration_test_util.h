// Helpers shared by the migration tests (migration_fault_test.cc,
// migration_scale_test.cc): a book of keys written once with known values
// and verified after every step, a check that no replica serves a slot
// its shard does not own, and the common cluster and workload settings.
//
// Thread-safety: the test's main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/routing_client.h"
#include "common/status.h"
#include "shardkv/v1/controller.pb.h"
#include "tests/harness/sharded_cluster.h"
#include "tests/harness/workload.h"

namespace shardkv::test {

// Keys "book-<i>" with values derived from i and a generation, written
// through a routing client and read back (linearizably) later.
class KeyBook {
 public:
  KeyBook(std::vector<std::string> endpoints, int keys, size_t value_bytes);

  // Writes every key (retrying each within its deadline); fails on the
  // first key that cannot be written.
  Status WriteAll();
  // Reads every key; fails naming the first key lost or wrong.
  Status VerifyAll();
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  Status Connect();
  std::string ValueOf(size_t i) const;

  const std::vector<std::string> endpoints_;
  const size_t value_bytes_;
  std::vector<std::string> keys_;
  std::unique_ptr<client::RoutingClient> client_;
};

// For every shard in `map` and every running replica of it: a stale read
// of each key in `keys` whose slot the shard does not own must be refused
// with WRONG_SHARD, and so must a linearizable read and a write at the
// shard's leader. Waits for each shard's replicas to converge first (a
// follower may not have applied the last Release yet).
Status CheckNoForeignSlotServed(ShardedCluster& cluster, const v1::SlotMap& map,
                                const std::vector<std::string>& keys);

// Restarts every node of every group that is not running (a failpoint
// crashed it, or a test killed it); returns how many it restarted.
int RestartStopped(ShardedCluster& cluster);

// A workload of reads, writes, deletes, TTL writes and conditional writes
// (the Workload's mix) with stale reads; seeded.
WorkloadOptions MigrationWorkload(uint64_t seed);

}  // namespace shardkv::test
