// Usage texts of the `shardkv` CLI (declared in command_line.h).
#include <map>
#include <string>

#include "client/cli/command_line.h"

namespace shardkv::cli {
namespace {

constexpr char kOverview[] = R"TXT(shardkv - client for a shardkv cluster

usage: shardkv [--endpoints host:port,...] [--timeout 5s] COMMAND [ARGS]

data:
  get KEY [--stale] [-v]            print the value of KEY
  set KEY VALUE [--ttl 10s] [--if-absent | --if-version N]
  del KEY [--if-version N]
admin:
  status                            shards, replicas, epoch, migrations
  member add ID ADDRESS | member promote ID | member remove ID
  leader transfer [ID]
sharded cluster (through the controller):
  map                               which shard owns which slots
  rebalance [--wait] [--dry-run]    even out the slots over the shards
  shard join ID --members ID=HOST:PORT,... | shard drain ID [--wait]
  shard cancel-drain ID | shard remove ID
  slot move SLOT --to SHARD [--wait]
local cluster and load:
  playground --shards 3 --replicas 3 [--controllers 1|3] [--data-dir DIR]
  playground scale --shards N [--data-dir DIR]
  bench [--clients 64] [--duration 10s] ...

global flags:
  --endpoints   the controller or any node(s) (default: $SHARDKV_ENDPOINTS,
                else 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003); keys
                are routed to the shard owning them
  --timeout     deadline of each command, retries included (default 5s)

exit codes: 0 ok, 1 key not found, 2 bad usage, 3 condition failed,
            4 other error (unreachable, timeout, rejected by the server)
`shardkv help COMMAND` or `shardkv COMMAND --help` for details.
)TXT";

const std::map<std::string, std::string>& Topics() {
  static const std::map<std::string, std::string> topics = {
      {"get", R"TXT(usage: shardkv get KEY [--stale] [-v|--verbose]
Prints the value of KEY on stdout, followed by a newline.
  --stale     read from any replica's applied state (may be behind);
              default is a linearizable read served by the leader
  -v          also print "version=N ttl=T" on a second line
A missing key prints "not found" on stderr and exits 1.
)TXT"},
      {"set",
       R"TXT(usage: shardkv set KEY VALUE [--ttl 10s] [--if-absent | --if-version N]
Writes VALUE; prints "OK version=N" with the key's new version.
  --ttl DURATION   expire after DURATION (500ms, 10s, 5m, 1h)
  --if-absent      write only if KEY does not exist
  --if-version N   write only if KEY exists with version N
A failed condition prints the key's current version on stderr, exits 3.
Use `--` before a VALUE that starts with '-'.
)TXT"},
      {"del", R"TXT(usage: shardkv del KEY [--if-version N]
Deletes KEY; prints "OK deleted" or "OK (not found)".
  --if-version N   delete only if KEY exists with version N (else exit 3)
)TXT"},
      {"status", R"TXT(usage: shardkv status
Sharded cluster (the endpoints name the controller or any sharded node):
prints the map's epoch, slot count and shard count; the controller's
replicas; for each shard its state, slots owned and one row per replica
(id, address, role leader/follower/learner, term, applied index, the slot
epoch it has applied, ready); the migrations in flight (slot, from, to,
phase, keys and bytes copied) and the totals moved so far.
Single unsharded shard: asks every endpoint's Admin.Status and prints one
row per replica: id, address, role, term, leader, commit and applied
index, ready. Unreachable endpoints are shown as such. Exits 4 when no
endpoint answers.
)TXT"},
      {"member", R"TXT(usage: shardkv member add ID ADDRESS
       shardkv member promote ID
       shardkv member remove ID
Changes the shard's membership through its leader, one change at a time:
add a learner, let it catch up (see `status`), promote it to voter.
Prints the resulting member list.
)TXT"},
      {"leader", R"TXT(usage: shardkv leader transfer [ID]
Asks the leader to hand leadership to replica ID (default: the most
caught-up voter) and prints the new leader's id.
)TXT"},
      {"playground",
       R"TXT(usage: shardkv playground --shards N --replicas R [--controllers 1|3]
                         [--data-dir DIR] [--port BASE]
       shardkv playground scale --shards N [--data-dir DIR]
Starts a controller group (CONTROLLERS shardkv-node processes) and N shards
of R replicas on 127.0.0.1:BASE.. (default 7001), joins the shards and
assigns the slots, prints "endpoints: ..." (the controller first) and runs
until Ctrl-C or SIGTERM, then stops the nodes. Data and logs are in DIR
(default ./playground-data), with the cluster layout in DIR/layout; started
again on the same DIR, the same cluster comes back from its data.
--controllers 0 runs one unsharded shard without a controller;
--slot-count N sets a new cluster's slots (a power of two, default 4096).
`playground scale` asks the playground running on DIR to add or drain and
remove shards (moving their slots online) and shows the progress.
shardkv-node is looked up next to this binary, or at $SHARDKV_NODE_BIN.
)TXT"},
      {"bench",
       R"TXT(usage: shardkv bench [--target shardkv|etcd|redis] [--clients 64]
                    [--duration 10s] [--warmup 2s] [--value-size 256]
                    [--records 100000] [--workload A|B|C|D|F | --read-ratio 0.5]
                    [--distribution uniform|zipfian|latest] [--rate OPS]
                    [--consistency linearizable|stale] [--load] [--json FILE]
                    [--batch N]
Load generator for shardkv, etcd (v3 gRPC KV) or Redis, all with the same
key and value bytes. CLIENTS concurrent clients, each with one request in
flight. --workload runs a YCSB core workload (A 50/50 read/update, B 95/5,
C read only, D 95 read/5 insert of the latest keys, F 50/50 read/
read-modify-write) with zipfian keys; without it, --read-ratio mixes reads
and updates over uniform keys. --rate fixes the offered load (open loop;
latency counted from each request's intended start); without it the loop
is closed. Only the DURATION after WARMUP is measured. --load first writes
every record once. --consistency stale: shardkv stale reads, etcd
serializable reads. --json also writes the result as JSON. For shardkv,
--endpoints may name the controller or any node: each key goes to the
shard owning its slot (map refreshed and request retried on WRONG_SHARD,
within --timeout); a node without a controller is one unsharded shard.
For etcd give its client endpoints with --endpoints; for Redis one
host:port. --batch N (shardkv): the clients' concurrent requests to a
replica travel packed in KV.Batch calls, at most N calls in flight per
replica (per shard leader when sharded).
)TXT"},
  };
  return topics;
}

}  // namespace

std::string HelpText(const std::string& topic) {
  auto it = Topics().find(topic);
  if (it != Topics().end()) return it->second;
  auto cluster = ClusterHelpTopics().find(topic);
  return cluster == ClusterHelpTopics().end() ? kOverview : cluster->second;
}

}  // namespace shardkv::cli
