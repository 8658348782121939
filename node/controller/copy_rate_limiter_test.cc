#include "node/controller/copy_rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace shardkv::controller {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(CopyRateLimiterTest, NoLimitNeverWaits) {
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(0);
  auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Acquire(1 << 30, &stop));
  EXPECT_LT(SecondsSince(start), 0.5);
}

TEST(CopyRateLimiterTest, HoldsTheRateOverThreads) {
  // 4 MB/s, 4 threads taking 1 MB each 3 times: 12 MB, of which the
  // first second's bucket (4 MB) is free: about 2 s, never much less.
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(4'000'000);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(limiter.Acquire(1'000'000, &stop));
    });
  }
  for (std::thread& t : threads) t.join();
  const double took = SecondsSince(start);
  EXPECT_GE(took, 1.7);
  EXPECT_LT(took, 6.0);  // generous: a loaded machine
}

TEST(CopyRateLimiterTest, ALargeChunkPassesAndLeavesDebt) {
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(1'000'000);
  auto start = Clock::now();
  ASSERT_TRUE(limiter.Acquire(3'000'000, &stop));  // bucket full: passes
  EXPECT_LT(SecondsSince(start), 0.5);
  ASSERT_TRUE(limiter.Acquire(1, &stop));  // waits out the 2 MB debt
  EXPECT_GE(SecondsSince(start), 1.8);
}

TEST(CopyRateLimiterTest, StopEndsTheWait) {
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(1000);
  ASSERT_TRUE(limiter.Acquire(1'000'000, &stop));  // 1000 s of debt
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  auto start = Clock::now();
  EXPECT_FALSE(limiter.Acquire(1, &stop));
  EXPECT_LT(SecondsSince(start), 2.0);
  stopper.join();
}

TEST(CopyRateLimiterTest, APauseHoldsCopiesUntilEveryResume) {
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(0);  // no rate limit: only the pause holds
  limiter.PauseCopies();
  limiter.PauseCopies();
  std::atomic<bool> passed{false};
  std::thread copier([&] {
    EXPECT_TRUE(limiter.Acquire(1, &stop));
    passed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(passed.load());
  limiter.ResumeCopies();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(passed.load());  // one pause still open
  auto resumed = Clock::now();
  limiter.ResumeCopies();
  copier.join();
  EXPECT_TRUE(passed.load());
  EXPECT_LT(SecondsSince(resumed), 2.0);
}

TEST(CopyRateLimiterTest, StopEndsAPause) {
  std::atomic<bool> stop{false};
  CopyRateLimiter limiter(1'000'000);
  limiter.PauseCopies();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  EXPECT_FALSE(limiter.Acquire(1, &stop));
  stopper.join();
  limiter.ResumeCopies();
}

}  // namespace
}  // namespace shardkv::controller
