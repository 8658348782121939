#include "client/bench/closed_loop.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "client/bench/pacing.h"

namespace shardkv::bench {
namespace {

struct ClientState {
  std::mt19937_64 rng;
  std::array<OpStats, kOpTypeCount> stats;
  Operation op;
  bool rmw_writing = false;        // the write half of a read-modify-write
  uint64_t scheduled = 0;          // open loop: operations scheduled so far
  BenchClock::time_point started;  // latency is measured from here
};

// Calls `send(client)` at each scheduled time, on its own thread
// ("bench-pacer"). Thread-safe.
class Pacer {
 public:
  explicit Pacer(std::function<void(int)> send)
      : send_(std::move(send)), thread_([this] { Run(); }) {}
  ~Pacer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void At(BenchClock::time_point when, int client) {
    std::lock_guard<std::mutex> lock(mu_);
    due_.emplace(when, client);
    cv_.notify_all();
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "bench-pacer");
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto [when, client] = due_.top();
      if (BenchClock::now() < when) {
        cv_.wait_until(lock, when);
        continue;
      }
      due_.pop();
      lock.unlock();
      send_(client);
      lock.lock();
    }
  }

  using Entry = std::pair<BenchClock::time_point, int>;
  std::function<void(int)> send_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> due_;
  bool stop_ = false;   // GUARDED_BY(mu_)
  std::thread thread_;  // last: starts after the members it uses
};

class Loop {
 public:
  Loop(Target& target, const std::string& value, const LoopOptions& options,
       const NextOperation& next)
      : target_(target),
        value_(value),
        options_(options),
        next_(next),
        clients_(static_cast<size_t>(options.clients)),
        schedule_(BenchClock::now(), options.rate > 0 ? options.rate : 1,
                  options.clients) {
    std::random_device seed;
    for (auto& c : clients_) c.rng.seed(seed());
    if (options_.rate > 0) {
      pacer_ = std::make_unique<Pacer>([this](int c) { Send(c); });
    }
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
    pacer_.reset();
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
    auto now = BenchClock::now();
    std::optional<Operation> op;
    if (now < options_.stop_at) op = next_(c, state.rng);
    if (!op) return Finish();
    state.op = *op;
    state.rmw_writing = false;
    if (options_.rate <= 0) {
      state.started = now;
      return Send(c);
    }
    state.started = schedule_.Intended(c, state.scheduled++);
    if (state.started >= options_.stop_at) return Finish();
    if (state.started > now) return pacer_->At(state.started, c);
    Send(c);
  }

  void Send(int c) {
    ClientState& state = clients_[static_cast<size_t>(c)];
    OpType wire = state.op.type == OpType::kRead ||
                          (state.op.type == OpType::kReadModifyWrite &&
                           !state.rmw_writing)
                      ? OpType::kRead
                      : OpType::kWrite;
    target_.Start(c, wire, Workload::KeyName(state.op.key_index), value_,
                  [this, c](const Status& s) { OnDone(c, s); });
  }

  void OnDone(int c, const Status& status) {
    ClientState& state = clients_[static_cast<size_t>(c)];
    if (status.ok() && state.op.type == OpType::kReadModifyWrite &&
        !state.rmw_writing) {
      state.rmw_writing = true;
      return Send(c);
    }
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
  const PacingSchedule schedule_;
  std::unique_ptr<Pacer> pacer_;  // open loop only
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
