// `shardkv bench`: YCSB-style load against shardkv, etcd or Redis, closed
// loop or at a fixed offered rate, with a text report and optional JSON.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include "client/bench/closed_loop.h"
#include "client/bench/etcd_target.h"
#include "client/bench/redis_target.h"
#include "client/bench/report.h"
#include "client/bench/shardkv_target.h"
#include "client/cli/commands.h"

namespace shardkv::cli {
namespace {

using bench::BenchClock;

// Writes every record once; client c writes keys c, c + N, c + 2N, ...
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

// The target named by --target, connected and checked.
StatusOr<std::unique_ptr<bench::Target>> MakeTarget(
    const GlobalOptions& global, const BenchCommand& command) {
  if (command.target == "etcd") {
    bench::EtcdTargetOptions o;
    o.endpoints = global.endpoints;
    o.serializable_reads = command.stale;
    o.timeout = global.timeout;
    auto target = std::make_unique<bench::EtcdTarget>(o);
    SHARDKV_RETURN_IF_ERROR(target->Check());
    return std::unique_ptr<bench::Target>(std::move(target));
  }
  if (command.target == "redis") {
    if (global.endpoints.size() != 1) {
      return InvalidArgument("--target redis takes one --endpoints host:port");
    }
    if (command.stale) {
      return InvalidArgument("--consistency stale: Redis has one level");
    }
    bench::RedisTargetOptions o;
    o.endpoint = global.endpoints[0];
    o.clients = command.clients;
    o.timeout = global.timeout;
    auto target = std::make_unique<bench::RedisTarget>(o);
    SHARDKV_RETURN_IF_ERROR(target->Connect());
    return std::unique_ptr<bench::Target>(std::move(target));
  }
  bench::ShardkvTargetOptions o;
  o.endpoints = global.endpoints;
  o.clients = command.clients;
  o.stale_reads = command.stale;
  o.timeout = global.timeout;
  o.batch_in_flight = command.batch_in_flight;
  auto target = std::make_unique<bench::ShardkvTarget>(o);
  // A controller or a node of a sharded cluster: routed by the slot map;
  // a node without a controller: that one shard, as before.
  if (Status st = target->Connect(); !st.ok()) {
    std::cerr << "bench: warning: " << st.message()
              << "; requests will follow NOT_LEADER hints\n";
  }
  return std::unique_ptr<bench::Target>(std::move(target));
}

StatusOr<bench::WorkloadOptions> MakeWorkload(const BenchCommand& command) {
  bench::WorkloadOptions wo;
  if (!command.workload.empty()) {
    auto ycsb = bench::YcsbWorkload(command.workload);
    if (!ycsb.ok()) return ycsb.status();
    wo = *ycsb;
  } else {
    wo.read_ratio = command.read_ratio;
    wo.update_ratio = 1 - command.read_ratio;
  }
  if (!command.distribution.empty()) {
    auto d = bench::ParseDistribution(command.distribution);
    if (!d.ok()) return d.status();
    wo.distribution = *d;
  }
  wo.keys = command.keys;
  wo.value_size = command.value_size;
  return wo;
}

std::string LoopDescription(double rate) {
  if (rate <= 0) return "closed loop";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "open loop at %.0f ops/s", rate);
  return buf;
}

}  // namespace

int RunBench(const GlobalOptions& global, const BenchCommand& command) {
  auto wo = MakeWorkload(command);
  if (!wo.ok()) {
    std::cerr << "bench: " << wo.status().message() << "\n";
    return kExitUsage;
  }
  auto target = MakeTarget(global, command);
  if (!target.ok()) {
    std::cerr << "bench: cannot use " << command.target << ": "
              << target.status().message() << "\n";
    return target.status().code() == Code::kInvalidArgument ? kExitUsage
                                                            : kExitError;
  }
  bench::Workload workload(*wo);

  if (command.load) {
    std::cerr << "bench: loading " << command.keys << " records...\n";
    bench::LoopResult loaded = Load(**target, workload, command.clients);
    std::printf("load: %llu records written in %.1fs, %llu errors\n",
                static_cast<unsigned long long>(loaded.total_ok()),
                loaded.measured.count(),
                static_cast<unsigned long long>(loaded.total_errors()));
  }

  std::printf(
      "bench: %s, workload %s (read %.2f update %.2f insert %.2f rmw %.2f), "
      "%s keys, %d clients, %s, %s (after %s warmup), %llu-byte values, "
      "%llu records, %s reads\n",
      command.target.c_str(), wo->name.c_str(), wo->read_ratio,
      wo->update_ratio, wo->insert_ratio, wo->rmw_ratio,
      bench::DistributionName(wo->distribution), command.clients,
      LoopDescription(command.rate).c_str(),
      FormatDuration(command.duration).c_str(),
      FormatDuration(command.warmup).c_str(),
      static_cast<unsigned long long>(command.value_size),
      static_cast<unsigned long long>(command.keys),
      command.stale ? "stale" : "linearizable");
  std::fflush(stdout);
  bench::LoopOptions lo;
  lo.clients = command.clients;
  lo.rate = command.rate;
  lo.measure_from = BenchClock::now() + command.warmup;
  lo.stop_at = lo.measure_from + command.duration;
  bench::LoopResult result = bench::RunClosedLoop(
      **target, workload.value(), lo,
      [&](int, std::mt19937_64& rng) { return workload.Next(rng); });
  std::cout << bench::FormatReport(result);
  nlohmann::json routing;  // null unless sharded
  if (auto* shardkv = dynamic_cast<bench::ShardkvTarget*>(target->get());
      shardkv != nullptr && shardkv->sharded()) {
    bench::ShardkvRoutingStats r = shardkv->routing_stats();
    routing = {{"shards", r.shards},
               {"map_epoch", r.map_epoch},
               {"replicas_used", r.replicas_used},
               {"wrong_shard_retries", r.wrong_shard},
               {"slot_migrating_retries", r.slot_migrating},
               {"not_leader_retries", r.not_leader},
               {"unreachable_retries", r.unreachable},
               {"map_refreshes", r.map_refreshes}};
    std::printf(
        "routing: %zu shards, map epoch %llu, %zu replicas used; retried "
        "after WRONG_SHARD %llu, SLOT_MIGRATING %llu, NOT_LEADER %llu, "
        "unreachable %llu; map refreshes %llu\n",
        r.shards, static_cast<unsigned long long>(r.map_epoch), r.replicas_used,
        static_cast<unsigned long long>(r.wrong_shard),
        static_cast<unsigned long long>(r.slot_migrating),
        static_cast<unsigned long long>(r.not_leader),
        static_cast<unsigned long long>(r.unreachable),
        static_cast<unsigned long long>(r.map_refreshes));
  }
  if (!command.json_path.empty()) {
    nlohmann::json parameters = {
        {"target", command.target},
        {"workload", wo->name},
        {"distribution", bench::DistributionName(wo->distribution)},
        {"clients", command.clients},
        {"rate", command.rate},
        {"records", command.keys},
        {"value_size", command.value_size},
        {"read_consistency", command.stale ? "stale" : "linearizable"},
        {"duration_s", command.duration.count() / 1000.0},
        {"warmup_s", command.warmup.count() / 1000.0}};
    if (!routing.is_null()) parameters["routing"] = routing;
    std::ofstream out(command.json_path);
    out << bench::ReportJson(result, parameters).dump(2) << "\n";
    if (!out) {
      std::cerr << "bench: cannot write " << command.json_path << "\n";
      return kExitError;
    }
  }
  return result.total_ok() > 0 ? kExitOk : kExitError;
}

}  // namespace shardkv::cli
