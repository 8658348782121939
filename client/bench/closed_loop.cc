#include "client/bench/closed_loop.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace shardkv::bench {
namespace {

struct ClientState {
  std::mt19937_64 rng;
  std::array<OpStats, kOpTypeCount> stats;
  Operation op;
  BenchClock::time_point started;
};

class Loop {
 public:
  Loop(Target& target, const std::string& value, const LoopOptions& options,
       const NextOperation& next)
      : target_(target),
        value_(value),
        options_(options),
        next_(next),
        clients_(static_cast<size_t>(options.clients)) {
    std::random_device seed;
    for (auto& c : clients_) c.rng.seed(seed());
  }

  LoopResult Run() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = options_.clients;
    }
    for (int c = 0; c < options_.clients; ++c) IssueNext(c);
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return running_ == 0; });
    }
    LoopResult result;
    for (const ClientState& c : clients_) {
      for (int t = 0; t < kOpTypeCount; ++t) result.ops[t].Merge(c.stats[t]);
    }
    auto end = std::min(BenchClock::now(), options_.stop_at);
    result.measured = end - options_.measure_from;
    return result;
  }

 private:
  void IssueNext(int c) {
    ClientState& state = clients_[static_cast<size_t>(c)];
    std::optional<Operation> op;
    if (BenchClock::now() < options_.stop_at) op = next_(c, state.rng);
    if (!op) return Finish();
    state.op = *op;
    state.started = BenchClock::now();
    target_.Start(c, op->type, Workload::KeyName(op->key_index), value_,
                  [this, c](const Status& s) { OnDone(c, s); });
  }

  void OnDone(int c, const Status& status) {
    ClientState& state = clients_[static_cast<size_t>(c)];
    auto now = BenchClock::now();
    if (now >= options_.measure_from && now < options_.stop_at) {
      OpStats& stats = state.stats[static_cast<int>(state.op.type)];
      if (status.ok()) {
        ++stats.ok;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
            now - state.started);
        stats.latency_us.Record(static_cast<uint64_t>(us.count()));
      } else {
        ++stats.errors[status.code()];
      }
    }
    IssueNext(c);
  }

  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--running_ == 0) done_.notify_all();
  }

  Target& target_;
  const std::string& value_;
  const LoopOptions options_;
  const NextOperation& next_;
  std::vector<ClientState> clients_;
  std::mutex mu_;
  std::condition_variable done_;
  int running_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace

void OpStats::Merge(const OpStats& other) {
  latency_us.Merge(other.latency_us);
  ok += other.ok;
  for (const auto& [code, n] : other.errors) errors[code] += n;
}

uint64_t LoopResult::total_ok() const {
  uint64_t n = 0;
  for (const OpStats& s : ops) n += s.ok;
  return n;
}

uint64_t LoopResult::total_errors() const {
  uint64_t n = 0;
  for (const OpStats& s : ops) {
    for (const auto& [code, count] : s.errors) n += count;
  }
  return n;
}

LoopResult RunClosedLoop(Target& target, const std::string& value,
                         const LoopOptions& options,
                         const NextOperation& next) {
  Loop loop(target, value, options, next);
  return loop.Run();
}

}  // namespace shardkv::bench
