#include "operator/work_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;

TEST(WorkQueueTest, KeyAddedTwiceIsQueuedOnce) {
  WorkQueue queue;
  queue.Add("ns/a");
  queue.Add("ns/a");
  queue.Add("ns/b");
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(queue.Get(), "ns/a");
  EXPECT_EQ(queue.Get(), "ns/b");
}

TEST(WorkQueueTest, KeyAddedWhileProcessingComesBackAfterDone) {
  WorkQueue queue;
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");  // changed while a worker holds it
  EXPECT_EQ(queue.Len(), 0u) << "must not go to a second worker";
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, RateLimitedDelayDoublesAndForgetResets) {
  WorkQueue queue(RateLimit{milliseconds(20), milliseconds(1000)});
  for (int failures = 0; failures < 3; ++failures) {
    const auto start = WorkQueue::Clock::now();
    queue.AddRateLimited("k");
    ASSERT_EQ(queue.Get(), "k");
    const auto waited = WorkQueue::Clock::now() - start;
    EXPECT_GE(waited, milliseconds(20 << failures)) << "failure " << failures;
    queue.Done("k");
  }
  EXPECT_EQ(queue.NumRequeues("k"), 3);
  queue.Forget("k");
  EXPECT_EQ(queue.NumRequeues("k"), 0);
}

TEST(WorkQueueTest, BackoffIsCapped) {
  WorkQueue queue(RateLimit{milliseconds(1), milliseconds(30)});
  for (int i = 0; i < 40; ++i) queue.AddRateLimited("x");  // 2^39 ms uncapped
  const auto start = WorkQueue::Clock::now();
  // Already delayed: the earliest due time (1 ms) holds, not a later one.
  ASSERT_EQ(queue.Get(), "x");
  EXPECT_LT(WorkQueue::Clock::now() - start, milliseconds(500));
  queue.Done("x");
  const auto again = WorkQueue::Clock::now();
  queue.AddRateLimited("x");
  ASSERT_EQ(queue.Get(), "x");
  EXPECT_LT(WorkQueue::Clock::now() - again, milliseconds(500));
}

TEST(WorkQueueTest, DelayedKeyWakesABlockedGet) {
  WorkQueue queue;
  std::optional<std::string> got;
  std::thread worker([&] { got = queue.Get(); });
  std::this_thread::sleep_for(milliseconds(20));
  queue.AddAfter("late", milliseconds(30));
  worker.join();
  EXPECT_EQ(got, "late");
}

TEST(WorkQueueTest, ShutDownReleasesWaitingWorkers) {
  WorkQueue queue;
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = queue.Get(); });
  std::this_thread::sleep_for(milliseconds(20));
  queue.ShutDown();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
  queue.Add("after");
  EXPECT_EQ(queue.Len(), 0u);
}

}  // namespace
}  // namespace shardkv::op
