#include "common/duration.h"

#include <gtest/gtest.h>

namespace shardkv {
namespace {

TEST(ParseDurationTest, AcceptsUnits) {
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("10s")->count(), 10'000);
  EXPECT_EQ(ParseDuration("1.5s")->count(), 1'500);
  EXPECT_EQ(ParseDuration("2m")->count(), 120'000);
  EXPECT_EQ(ParseDuration("1h")->count(), 3'600'000);
  EXPECT_EQ(ParseDuration("3")->count(), 3'000);
}

TEST(ParseDurationTest, RejectsGarbageWithClearMessage) {
  auto r = ParseDuration("ten seconds");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("invalid duration"), std::string::npos);
  EXPECT_FALSE(ParseDuration("10y").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
}

TEST(ParseByteSizeTest, AcceptsUnits) {
  EXPECT_EQ(*ParseByteSize("256"), 256u);
  EXPECT_EQ(*ParseByteSize("4KiB"), 4096u);
  EXPECT_EQ(*ParseByteSize("1MiB"), 1048576u);
  EXPECT_FALSE(ParseByteSize("1XB").ok());
}

}  // namespace
}  // namespace shardkv
