// `shardkv bench`: the closed-loop benchmark against a shardkv shard.
#include <cstdio>
#include <iostream>
#include <vector>

#include "client/bench/closed_loop.h"
#include "client/bench/report.h"
#include "client/bench/shardkv_target.h"
#include "client/cli/commands.h"

namespace shardkv::cli {
namespace {

using bench::BenchClock;

// Writes every key once; client c writes keys c, c + N, c + 2N, ...
bench::LoopResult Load(bench::Target& target, const bench::Workload& workload,
                       int clients) {
  std::vector<uint64_t> next_key(static_cast<size_t>(clients));
  for (int c = 0; c < clients; ++c) next_key[static_cast<size_t>(c)] = c;
  uint64_t keys = workload.options().keys;
  bench::LoopOptions lo;
  lo.clients = clients;
  lo.measure_from = BenchClock::now();
  lo.stop_at = lo.measure_from + std::chrono::hours(24);
  return bench::RunClosedLoop(
      target, workload.value(), lo,
      [&](int c, std::mt19937_64&) -> std::optional<bench::Operation> {
        uint64_t& k = next_key[static_cast<size_t>(c)];
        if (k >= keys) return std::nullopt;
        bench::Operation op{bench::OpType::kWrite, k};
        k += static_cast<uint64_t>(clients);
        return op;
      });
}

}  // namespace

int RunBench(const GlobalOptions& global, const BenchCommand& command) {
  bench::ShardkvTargetOptions to;
  to.endpoints = global.endpoints;
  to.clients = command.clients;
  to.stale_reads = command.stale;
  to.timeout = global.timeout;
  bench::ShardkvTarget target(to);
  if (Status st = target.FindLeader(); !st.ok()) {
    std::cerr << "bench: warning: " << st.message()
              << "; requests will follow NOT_LEADER hints\n";
  }
  bench::WorkloadOptions wo;
  wo.keys = command.keys;
  wo.value_size = command.value_size;
  wo.read_ratio = command.read_ratio;
  bench::Workload workload(wo);

  if (command.load) {
    std::cerr << "bench: loading " << command.keys << " keys...\n";
    bench::LoopResult loaded = Load(target, workload, command.clients);
    std::printf("load: %llu keys written in %.1fs, %llu errors\n",
                static_cast<unsigned long long>(loaded.total_ok()),
                loaded.measured.count(),
                static_cast<unsigned long long>(loaded.total_errors()));
  }

  std::printf(
      "bench: %d clients, %s (after %s warmup), %llu-byte values, %llu keys, "
      "read ratio %.2f, %s reads\n",
      command.clients, FormatDuration(command.duration).c_str(),
      FormatDuration(command.warmup).c_str(),
      static_cast<unsigned long long>(command.value_size),
      static_cast<unsigned long long>(command.keys), command.read_ratio,
      command.stale ? "stale" : "linearizable");
  std::fflush(stdout);
  bench::LoopOptions lo;
  lo.clients = command.clients;
  lo.measure_from = BenchClock::now() + command.warmup;
  lo.stop_at = lo.measure_from + command.duration;
  bench::LoopResult result = bench::RunClosedLoop(
      target, workload.value(), lo,
      [&](int, std::mt19937_64& rng) { return workload.Next(rng); });
  std::cout << bench::FormatReport(result);
  return result.total_ok() > 0 ? kExitOk : kExitError;
}

}  // namespace shardkv::cli
