// Microbenchmarks of the storage hot paths: durable log appends (Save with
// fsync) and applying committed entries.
//   build-storage/node/storage/storage_bench
#include <benchmark/benchmark.h>

#include "node/storage/raft_log_store.h"
#include "node/storage/state_machine.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  auto engine = Engine::Open(dir, {});
  if (!engine.ok()) std::abort();
  return std::move(*engine);
}

// Save() of a batch of N 256-byte entries with sync = true.
void BM_SaveSynced(benchmark::State& state) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  RaftLogStore log(engine.get());
  if (!log.Load().ok()) std::abort();
  const auto batch_size = static_cast<size_t>(state.range(0));
  raft::Index next = 1;
  std::vector<raft::Entry> batch(batch_size);
  for (auto _ : state) {
    for (auto& e : batch)
      e = {1, next++, raft::EntryType::kNormal, std::string(256, 'v')};
    Status s = log.Save(raft::HardState{1, 1, next - 1}, batch, true);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(BM_SaveSynced)->Arg(1)->Arg(16)->Arg(128)->UseRealTime();

// ApplyEntries() of 64 entries of 16 commands each (256-byte values).
void BM_ApplyEntries(benchmark::State& state) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  StateMachine sm(engine.get());
  if (!sm.Load().ok()) std::abort();
  raft::Index next = 1;
  uint64_t key = 0;
  std::vector<std::vector<ApplyResult>> out;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<raft::Entry> entries;
    for (int e = 0; e < 64; ++e) {
      std::vector<internal::Command> commands;
      for (int c = 0; c < 16; ++c, ++key) {
        commands.push_back(testing::WithClient(
            testing::SetCmd("key" + std::to_string(key % 100000),
                            std::string(256, 'v'), 1000),
            1 + key % 64, 1 + key));
      }
      entries.push_back(testing::CommandEntry(next++, 1, commands));
    }
    state.ResumeTiming();
    Status s = sm.ApplyEntries(entries, &out);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 64 * 16);
}
BENCHMARK(BM_ApplyEntries)->UseRealTime();

}  // namespace
}  // namespace shardkv::storage

BENCHMARK_MAIN();
