#include "client/bench/closed_loop.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "client/bench/report.h"

namespace shardkv::bench {
namespace {

using std::chrono::milliseconds;

// Completes operations on its own thread after ~1 ms; every 10th write of a
// client fails with UNAVAILABLE. Checks one-in-flight-per-client.
class FakeTarget : public Target {
 public:
  FakeTarget() : worker_([this] { Work(); }) {}
  ~FakeTarget() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  void Start(int client, OpType type, const std::string& key,
             const std::string& value, Done done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_flight_.insert(client).second) overlap_ = true;
    if (key.empty() || (type == OpType::kWrite && value != "vv")) bad_ = true;
    bool fail = type == OpType::kWrite && ++writes_ % 10 == 0;
    queue_.push_back({client, fail, std::move(done)});
    cv_.notify_all();
  }
  bool overlap_ = false;
  bool bad_ = false;

 private:
  struct Pending {
    int client;
    bool fail;
    Done done;
  };
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      in_flight_.erase(p.client);
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      p.done(p.fail ? Unavailable("down") : Status::Ok());
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::set<int> in_flight_;
  uint64_t writes_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

TEST(ClosedLoopTest, MeasuresOnlyTheWindowAndCountsErrors) {
  FakeTarget target;
  WorkloadOptions wo;
  wo.keys = 100;
  wo.read_ratio = 0.5;
  Workload workload(wo);
  LoopOptions lo;
  lo.clients = 4;
  auto now = BenchClock::now();
  lo.measure_from = now + milliseconds(100);
  lo.stop_at = now + milliseconds(400);
  auto result = RunClosedLoop(target, "vv", lo, [&](int, std::mt19937_64& rng) {
    return workload.Next(rng);
  });
  EXPECT_FALSE(target.overlap_);
  EXPECT_FALSE(target.bad_);
  const OpStats& reads = result.ops[0];
  const OpStats& writes = result.ops[1];
  EXPECT_GT(reads.ok, 50u);
  EXPECT_GT(writes.ok, 50u);
  EXPECT_EQ(reads.latency_us.count(), reads.ok);
  EXPECT_GE(reads.latency_us.Percentile(0.5), 200u);  // the fake's delay
  EXPECT_GT(writes.errors.at(Code::kUnavailable), 0u);
  EXPECT_TRUE(reads.errors.empty());
  EXPECT_NEAR(result.measured.count(), 0.3, 0.05);
  std::string report = FormatReport(result);
  EXPECT_NE(report.find("UNAVAILABLE="), std::string::npos);
  EXPECT_NE(report.find("p99.9"), std::string::npos);
}

TEST(ClosedLoopTest, StopsWhenClientsRunOutOfOperations) {
  FakeTarget target;
  std::vector<int> issued(3, 0);
  LoopOptions lo;
  lo.clients = 3;
  lo.measure_from = BenchClock::now();
  lo.stop_at = lo.measure_from + std::chrono::hours(1);
  auto result =
      RunClosedLoop(target, "vv", lo,
                    [&](int c, std::mt19937_64&) -> std::optional<Operation> {
                      if (issued[c] == 5) return std::nullopt;
                      ++issued[c];
                      return Operation{OpType::kRead, static_cast<uint64_t>(c)};
                    });
  EXPECT_EQ(result.total_ok(), 15u);
  EXPECT_EQ(result.total_errors(), 0u);
}

TEST(WorkloadTest, MixAndKeysFollowTheOptions) {
  WorkloadOptions wo;
  wo.keys = 10;
  wo.read_ratio = 0.9;
  wo.value_size = 33;
  Workload w(wo);
  EXPECT_EQ(w.value().size(), 33u);
  std::mt19937_64 rng(1);
  int reads = 0;
  for (int i = 0; i < 10000; ++i) {
    Operation op = w.Next(rng);
    ASSERT_LT(op.key_index, 10u);
    reads += op.type == OpType::kRead;
  }
  EXPECT_NEAR(reads, 9000, 300);
  EXPECT_EQ(Workload::KeyName(42), "key-0000000042");
}

}  // namespace
}  // namespace shardkv::bench
