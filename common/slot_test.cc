#include "common/slot.h"

#include <gtest/gtest.h>

namespace shardkv {
namespace {

// Published FNV-1a 64 test vectors: other clients must produce the same.
TEST(SlotTest, Fnv1a64MatchesReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(SlotTest, SlotIsPrefixModuloSlotCount) {
  for (uint32_t n : {1u, 2u, 16u, 4096u, 65536u}) {
    for (int i = 0; i < 1000; ++i) {
      std::string key = "key-" + std::to_string(i);
      EXPECT_EQ(SlotOf(key, n), KeyPrefix(key) % n) << key << " " << n;
      EXPECT_LT(SlotOf(key, n), n);
    }
  }
}

TEST(SlotTest, ValidSlotCounts) {
  EXPECT_TRUE(ValidSlotCount(1));
  EXPECT_TRUE(ValidSlotCount(4096));
  EXPECT_TRUE(ValidSlotCount(65536));
  EXPECT_FALSE(ValidSlotCount(0));
  EXPECT_FALSE(ValidSlotCount(3000));
  EXPECT_FALSE(ValidSlotCount(131072));
}

}  // namespace
}  // namespace shardkv
