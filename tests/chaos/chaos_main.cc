// shardkv-chaos: the robustness suite's driver (e2e/chaos.sh runs it).
//
// Starts a sharded cluster of real processes (controller group + shards,
// a FaultProxy on every peer link, tmpfs data dirs when root), keeps
// recorded traffic running from several clients, injects seeded faults one
// or two at a time, heals everything, waits for convergence and checks:
// linearizability per key, no lost acknowledged write, replicas of a shard
// agree, every slot owned exactly once, no sanitizer report in any log,
// no process that died without being killed. Prints the final line
//   ops=N faults=N violations=N lost=N
// and exits 1 on any violation, keeping the logs, data dirs and history.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/duration.h"
#include "common/log.h"
#include "testing/lincheck/checker.h"
#include "testing/lincheck/history_json.h"
#include "tests/chaos/chaos_checks.h"
#include "tests/chaos/fault_injector.h"
#include "tests/harness/checks.h"
#include "tests/harness/poll_wait.h"
#include "tests/harness/workload.h"

namespace shardkv::test {
namespace {

struct Flags {
  int seconds = 60;
  uint64_t seed = 0;
  std::string faults = "all";
  int shards = 3;
  int replicas = 3;
  int controllers = 3;
  uint32_t slot_count = 64;
  int clients = 6;
  std::string keep_dir;
  std::string failpoints;
};

const char* kUsage = R"USAGE(usage: shardkv-chaos [flags]
  --seconds N      how long to inject faults under traffic (default 60)
  --seed S         fault schedule and workload seed (default: random, printed)
  --faults LIST    all (default) or some of: kill,kill-leader,pause,partition,
                   oneway,disk-full,transfer,move-slot,scale-out,scale-in,replace
  --shards N       shards at start (default 3); --replicas N (3)
  --controllers N  controller replicas (default 3); --slot-count N (64)
  --clients N      client threads (default 6)
  --keep-dir DIR   on failure, write the history there (files are kept anyway)
  --failpoints SPEC  SHARDKV_FAILPOINTS for every node (test builds only),
                   e.g. "raft.after_persist=crash(1%)"; see common/failpoint.h
)USAGE";

StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return NotFound(kUsage);
    if (i + 1 >= argc) return InvalidArgument(flag + " needs a value");
    std::string v = argv[++i];
    char* end = nullptr;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    bool numeric = end != v.c_str() && *end == '\0';
    auto need_number = [&]() -> Status {
      return numeric ? Status::Ok()
                     : InvalidArgument(flag + ": '" + v + "' is not a number");
    };
    if (flag == "--faults") {
      f.faults = v;
    } else if (flag == "--keep-dir") {
      f.keep_dir = v;
    } else if (flag == "--failpoints") {
      f.failpoints = v;
    } else {
      SHARDKV_RETURN_IF_ERROR(need_number());
      if (flag == "--seconds") {
        f.seconds = static_cast<int>(n);
      } else if (flag == "--seed") {
        f.seed = n;
      } else if (flag == "--shards") {
        f.shards = static_cast<int>(n);
      } else if (flag == "--replicas") {
        f.replicas = static_cast<int>(n);
      } else if (flag == "--controllers") {
        f.controllers = static_cast<int>(n);
      } else if (flag == "--slot-count") {
        f.slot_count = static_cast<uint32_t>(n);
      } else if (flag == "--clients") {
        f.clients = static_cast<int>(n);
      } else {
        return InvalidArgument("unknown flag " + flag + "\n" + kUsage);
      }
    }
  }
  if (f.shards < 1 || f.replicas < 1 || f.controllers < 1 || f.clients < 1) {
    return InvalidArgument(
        "--shards, --replicas, --controllers, --clients >= 1");
  }
  return f;
}

int Run(const Flags& flags) {
  uint64_t seed = flags.seed != 0 ? flags.seed : std::random_device{}();
  std::printf("chaos: seed %llu (replay: --seed %llu)\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  auto kinds = ParseFaults(flags.faults);
  if (!kinds.ok()) {
    std::fprintf(stderr, "shardkv-chaos: %s\n",
                 kinds.status().ToString().c_str());
    return 2;
  }
  bool disk_full = false;
  for (FaultKind k : *kinds) disk_full |= k == FaultKind::kDiskFull;
  if (disk_full && geteuid() != 0) {
    std::printf("chaos: not root: disk-full faults are left out\n");
    std::erase(*kinds, FaultKind::kDiskFull);
    disk_full = false;
    if (kinds->empty()) return 2;
  }

  ShardedClusterOptions co;
  co.name = "chaos";
  co.controllers = flags.controllers;
  co.shards = flags.shards;
  co.replicas = flags.replicas;
  co.slot_count = flags.slot_count;
  co.proxies = true;
  co.tmpfs_bytes = disk_full ? (256u << 20) : 0;
  auto cluster = ShardedCluster::Start(co, milliseconds(60000));
  if (!cluster.ok()) {
    std::fprintf(stderr, "shardkv-chaos: cannot start the cluster: %s\n",
                 cluster.status().ToString().c_str());
    return 1;
  }
  ShardedCluster& c = **cluster;

  lincheck::History history;
  WorkloadOptions wo;
  wo.threads = flags.clients;
  wo.hot_keys = 5;
  wo.cold_keys = 200;
  wo.hot_fraction = 0.5;
  wo.read_fraction = 0.4;
  wo.stale_read_fraction = 0.25;
  wo.ttl_keys = 10;
  wo.ttl_fraction = 0.05;
  wo.seed = seed;
  wo.op_timeout = milliseconds(3000);
  wo.key_prefix = "chaos";
  Workload workload(c.endpoints(), wo, &history);
  if (Status s = workload.Start(); !s.ok()) {
    std::fprintf(stderr, "shardkv-chaos: workload: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<std::string> hot;
  for (int i = 0; i < wo.hot_keys; ++i) {
    hot.push_back(wo.key_prefix + "-hot-" + std::to_string(i));
  }
  FaultInjector faults(&c, seed, *kinds, hot, std::max(1, flags.shards - 1),
                       flags.shards + 1);
  if (!flags.failpoints.empty()) {
    // Armed once the cluster is up (a crash while it bootstraps would only
    // fail the start): every node restarts with them, and nodes that crash
    // at one are restarted on every harness poll from here on.
    setenv("SHARDKV_FAILPOINTS", flags.failpoints.c_str(), 1);
    setenv("SHARDKV_FAILPOINT_SEED", std::to_string(seed).c_str(), 1);
    SetPollHook([&faults] { faults.RestartFailpointCrashes(); });
    std::printf("chaos: arming failpoints (restarting every node)\n");
    std::fflush(stdout);
    if (Status armed = faults.RestartEveryNode(); !armed.ok()) {
      std::fprintf(stderr, "shardkv-chaos: arming failpoints: %s\n",
                   armed.ToString().c_str());
      return 1;
    }
  }
  std::vector<std::string> problems;
  auto& rng = faults.rng();
  auto end =
      std::chrono::steady_clock::now() + std::chrono::seconds(flags.seconds);
  while (std::chrono::steady_clock::now() < end) {
    PollWait(milliseconds(300 + rng() % 700));
    int n = 1 + static_cast<int>(rng() % 2);
    for (int i = 0; i < n; ++i) {
      auto what = faults.InjectOne();
      if (what.ok()) {
        std::printf("chaos: %s\n", what->c_str());
      } else {
        std::printf("chaos: fault not applied: %s\n",
                    what.status().ToString().c_str());
      }
    }
    std::fflush(stdout);
    // In steps, so failpoint crashes are restarted while faults are held.
    for (auto until = std::chrono::steady_clock::now() +
                      milliseconds(500 + rng() % 2500);
         std::chrono::steady_clock::now() < until;) {
      PollWait(milliseconds(100));
    }
    if (Status healed = faults.Heal(/*last=*/true); !healed.ok()) {
      problems.push_back(healed.message());
    }
  }
  workload.Stop();
  const bool disarm = !flags.failpoints.empty();
  if (Status healed = faults.Heal(/*last=*/!disarm); !healed.ok()) {
    problems.push_back(healed.message());
  }
  if (disarm) {
    // Armed failpoints would go on crashing nodes while the checks wait
    // for the cluster to settle; the run's faults are over.
    SetPollHook({});
    std::printf("chaos: disarming failpoints (restarting every node)\n");
    unsetenv("SHARDKV_FAILPOINTS");
    if (Status d = faults.RestartEveryNode(); !d.ok()) {
      problems.push_back("disarming failpoints: " + d.message());
    }
    if (Status healed = faults.Heal(); !healed.ok()) {
      problems.push_back(healed.message());
    }
  }

  std::printf("chaos: healed; waiting for the cluster to settle\n");
  std::fflush(stdout);
  auto map = c.WaitSettled(milliseconds(120000));
  if (!map.ok()) {
    problems.push_back("did not settle after healing: " +
                       map.status().message());
  } else {
    for (uint32_t s : c.shard_ids()) {
      ShardCluster& g = c.shard(s);
      std::vector<NodeId> running;
      for (NodeId id : g.ids()) {
        if (g.IsRunning(id)) running.push_back(id);
      }
      if (Status conv = g.WaitConverged(milliseconds(60000), running);
          !conv.ok()) {
        problems.push_back("shard " + std::to_string(s) + ": " +
                           conv.message());
      }
    }
  }

  std::vector<std::string> keys = workload.Keys();
  if (Status fr = RecordFinalReads(c.endpoints(), keys, &history); !fr.ok()) {
    problems.push_back(fr.message());
  }
  std::vector<lincheck::Operation> ops = history.Operations();
  lincheck::CheckResult lin = lincheck::Check(
      ops, std::chrono::steady_clock::now() + std::chrono::seconds(120));
  if (!lin.ok()) problems.push_back(lin.Summary());
  std::vector<std::string> lost = FindLostWrites(ops);
  for (const std::string& l : lost) problems.push_back("lost write: " + l);
  if (map.ok()) {
    if (Status own = CheckSlotOwnership(c, *map); !own.ok()) {
      problems.push_back(own.message());
    }
    if (Status agree = CheckShardReplicasAgree(c, *map, keys); !agree.ok()) {
      problems.push_back(agree.message());
    }
  }
  for (const std::string& r : FindSanitizerReports(c.log_paths())) {
    problems.push_back("sanitizer: " + r);
  }

  WorkloadCounts counts = workload.Counts();
  std::printf("chaos: failpoint crashes: %llu\n",
              static_cast<unsigned long long>(faults.failpoint_crashes()));
  std::printf("chaos: faults by kind:");
  for (const auto& [name, n] : faults.counts()) {
    std::printf(" %s=%llu", name.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf(
      "\nchaos: ops ok=%llu condition_failed=%llu unknown=%llu "
      "unchecked=%llu; lincheck %s (%zu keys, %zu skipped)\n",
      static_cast<unsigned long long>(counts.ok),
      static_cast<unsigned long long>(counts.condition_failed),
      static_cast<unsigned long long>(counts.unknown),
      static_cast<unsigned long long>(counts.unrecorded),
      lincheck::VerdictName(lin.verdict), lin.keys.size(), lin.skipped);
  for (const std::string& p : problems) {
    std::printf("VIOLATION: %s\n", p.c_str());
  }
  if (!problems.empty()) {
    std::vector<std::string> dirs = c.KeepFiles();
    std::string history_path =
        (flags.keep_dir.empty() ? dirs[0] : flags.keep_dir) + "/history.jsonl";
    Status saved = lincheck::WriteHistoryFile(history_path, ops);
    std::printf(
        "chaos: FAILED with seed %llu; history %s%s; files kept in:\n",
        static_cast<unsigned long long>(seed), history_path.c_str(),
        saved.ok() ? "" : (" (not saved: " + saved.message() + ")").c_str());
    for (const std::string& d : dirs) std::printf("  %s\n", d.c_str());
  }
  std::printf("ops=%zu faults=%llu violations=%zu lost=%zu\n", ops.size(),
              static_cast<unsigned long long>(faults.injected()),
              problems.size(), lost.size());
  return problems.empty() ? 0 : 1;
}

}  // namespace
}  // namespace shardkv::test

int main(int argc, char** argv) {
  auto flags = shardkv::test::ParseFlags(argc, argv);
  if (!flags.ok()) {
    bool help = flags.status().code() == shardkv::Code::kNotFound;
    std::fputs(flags.status().message().c_str(), help ? stdout : stderr);
    std::fputs("\n", help ? stdout : stderr);
    return help ? 0 : 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return shardkv::test::Run(*flags);
}
