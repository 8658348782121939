// Microbenchmarks of the storage hot paths: durable log appends (Save with
// fsync) and applying committed entries.
//   build-storage/node/storage/storage_bench
#include <benchmark/benchmark.h>

#include <random>

#include "node/storage/raft_log_store.h"
#include "node/storage/segment_log_store.h"
#include "node/storage/state_machine.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  auto engine = Engine::Open(dir, {});
  if (!engine.ok()) std::abort();
  return std::move(*engine);
}

// Save() of a batch of N 256-byte entries with sync = true, into `log`.
void SaveSynced(benchmark::State& state, RaftLog* log) {
  if (!log->Load().ok()) std::abort();
  const auto batch_size = static_cast<size_t>(state.range(0));
  // Outside the timing: the segments' first file is zero-filled here.
  if (!log->Save(raft::HardState{1, 1, 0}, {}, true).ok()) std::abort();
  raft::Index next = 1;
  std::vector<raft::Entry> batch(batch_size);
  for (auto _ : state) {
    for (auto& e : batch)
      e = {1, next++, raft::EntryType::kNormal, std::string(256, 'v')};
    Status s = log->Save(raft::HardState{1, 1, next - 1}, batch, true);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}

// The log in RocksDB's column families (--raft-log=rocksdb).
void BM_SaveSynced(benchmark::State& state) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  RaftLogStore log(engine.get());
  SaveSynced(state, &log);
}
BENCHMARK(BM_SaveSynced)->Arg(1)->Arg(16)->Arg(128)->UseRealTime();

// The log in segment files (--raft-log=segments).
void BM_SaveSyncedSegments(benchmark::State& state) {
  testing::TempDir dir;
  SegmentLogStore log(dir.path() + "/raft-log");
  SaveSynced(state, &log);
}
BENCHMARK(BM_SaveSyncedSegments)->Arg(1)->Arg(16)->Arg(128)->UseRealTime();

// ApplyEntries() of 64 entries of 16 commands each (256-byte values), 64
// clients, uniform over 100,000 keys loaded first. Arguments: apply cache on
// (1) or off (0: every command reads its session and record from RocksDB, as
// before the cache), memtable insert hints on the rewritten column families on
// (1) or off (0).
void BM_ApplyEntries(benchmark::State& state) {
  testing::TempDir dir;
  EngineOptions options;
  options.rewrite_insert_hints = state.range(1) != 0;
  auto opened = Engine::Open(dir.path(), options);
  if (!opened.ok()) std::abort();
  auto engine = std::move(*opened);
  StateMachine::CacheLimits limits;
  if (state.range(0) == 0) limits = {0, 0};
  StateMachine sm(engine.get(), limits);
  if (!sm.Load().ok()) std::abort();
  raft::Index next = 1;
  std::vector<std::vector<ApplyResult>> out;
  // Load every key first, as bench/node_bench.sh does.
  for (int first = 0; first < 100000; first += 1000) {
    std::vector<internal::Command> commands;
    for (int k = first; k < first + 1000; ++k) {
      commands.push_back(testing::SetCmd("key" + std::to_string(k),
                                         std::string(256, 'v'), 1000));
    }
    if (!sm.ApplyEntry(testing::CommandEntry(next++, 1, commands),
                       &out.emplace_back())
             .ok()) {
      std::abort();
    }
  }
  std::mt19937_64 random(42);
  uint64_t sequence = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<raft::Entry> entries;
    for (int e = 0; e < 64; ++e) {
      std::vector<internal::Command> commands;
      for (int c = 0; c < 16; ++c, ++sequence) {
        commands.push_back(testing::WithClient(
            testing::SetCmd("key" + std::to_string(random() % 100000),
                            std::string(256, 'v'), 1000),
            1 + sequence % 64, 1 + sequence));
      }
      entries.push_back(testing::CommandEntry(next++, 1, commands));
    }
    state.ResumeTiming();
    Status s = sm.ApplyEntries(entries, &out);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 64 * 16);
}
BENCHMARK(BM_ApplyEntries)
    ->ArgNames({"cache", "hints"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1});

}  // namespace
}  // namespace shardkv::storage

BENCHMARK_MAIN();
