#include "common/failpoint.h"

#include <gtest/gtest.h>

#include <chrono>

namespace shardkv::failpoint {
namespace {

TEST(FailpointTest, ParsesActions) {
  auto crash = ParseAction("crash");
  ASSERT_TRUE(crash.ok());
  EXPECT_EQ(crash->kind, Action::kCrash);
  EXPECT_EQ(crash->probability, 1.0);
  auto some = ParseAction("crash(25%)");
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  EXPECT_DOUBLE_EQ(some->probability, 0.25);
  auto sleep = ParseAction("sleep(30,50%)");
  ASSERT_TRUE(sleep.ok()) << sleep.status().ToString();
  EXPECT_EQ(sleep->kind, Action::kSleep);
  EXPECT_EQ(sleep->sleep_ms, 30);
  EXPECT_DOUBLE_EQ(sleep->probability, 0.5);
  EXPECT_FALSE(ParseAction("explode").ok());
  EXPECT_FALSE(ParseAction("crash(0%)").ok());
  EXPECT_FALSE(ParseAction("crash(5)").ok());
  EXPECT_FALSE(ParseAction("sleep(x)").ok());
  EXPECT_FALSE(Configure("nameonly").ok());
}

TEST(FailpointTest, SleepStallsOnlyTheNamedPoint) {
  ASSERT_TRUE(Configure("test.slow=sleep(50);test.never=off").ok());
  auto start = std::chrono::steady_clock::now();
  Evaluate("test.other");
  Evaluate("test.never");
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(40));
  Evaluate("test.slow");
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(50));
  ASSERT_TRUE(Configure("").ok());
}

TEST(FailpointDeathTest, CrashExitsAtOnceWithItsLine) {
  ASSERT_TRUE(Configure("test.crash=crash").ok());
  EXPECT_EXIT(Evaluate("test.crash"), ::testing::ExitedWithCode(86),
              "failpoint test.crash: crash");
  ASSERT_TRUE(Configure("").ok());
}

}  // namespace
}  // namespace shardkv::failpoint
