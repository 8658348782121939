// Microbenchmark of applying committed entries in batches the size a
// replica applies them (a few entries of a few commands), unlike
// storage_bench's 1,024 sets per batch.
//   build-storage/node/storage/apply_bench
// Arguments: entries per ApplyEntries call, commands per entry. Sets of
// 256-byte values by 64 clients, uniform over 100,000 keys loaded first
// (so every key is in the apply cache, as in the node after
// bench/node_bench.sh's load). Reported CPU time is per call; items/s is
// applied sets.
#include <benchmark/benchmark.h>

#include <random>

#include "node/storage/state_machine.h"
#include "node/storage/test_util.h"

namespace shardkv::storage {
namespace {

constexpr int kKeys = 100000;

void BM_ApplyBatches(benchmark::State& state) {
  testing::TempDir dir;
  auto opened = Engine::Open(dir.path(), {});
  if (!opened.ok()) std::abort();
  auto engine = std::move(*opened);
  StateMachine sm(engine.get());
  if (!sm.Load().ok()) std::abort();
  raft::Index next = 1;
  std::vector<std::vector<ApplyResult>> out;
  for (int first = 0; first < kKeys; first += 1000) {
    std::vector<internal::Command> commands;
    for (int k = first; k < first + 1000; ++k) {
      commands.push_back(testing::SetCmd("key" + std::to_string(k),
                                         std::string(256, 'v'), 1000));
    }
    std::vector<ApplyResult> loaded;
    if (!sm.ApplyEntry(testing::CommandEntry(next++, 1, commands), &loaded)
             .ok()) {
      std::abort();
    }
  }
  const auto entries_per_call = static_cast<int>(state.range(0));
  const auto commands_per_entry = static_cast<int>(state.range(1));
  std::mt19937_64 random(42);
  uint64_t sequence = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<raft::Entry> entries;
    for (int e = 0; e < entries_per_call; ++e) {
      std::vector<internal::Command> commands;
      for (int c = 0; c < commands_per_entry; ++c, ++sequence) {
        commands.push_back(testing::WithClient(
            testing::SetCmd("key" + std::to_string(random() % kKeys),
                            std::string(256, 'v'), 1000),
            1 + sequence % 64, 1 + sequence));
      }
      entries.push_back(testing::CommandEntry(next++, 1, commands));
    }
    state.ResumeTiming();
    Status s = sm.ApplyEntries(entries, &out);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * entries_per_call *
                          commands_per_entry);
}
BENCHMARK(BM_ApplyBatches)
    ->ArgNames({"entries", "commands"})
    ->Args({4, 4})
    ->Args({8, 16})
    ->Args({64, 16});

}  // namespace
}  // namespace shardkv::storage

BENCHMARK_MAIN();
