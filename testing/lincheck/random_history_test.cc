#include "testing/lincheck/random_history.h"

#include <gtest/gtest.h>

#include <chrono>

#include "testing/lincheck/checker.h"

namespace shardkv::lincheck {
namespace {

using std::chrono::steady_clock;

Deadline Soon() { return steady_clock::now() + std::chrono::seconds(20); }

TEST(RandomHistoryTest, GeneratedHistoriesAreLinearizable) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    RandomHistoryOptions o;
    o.seed = seed;
    o.num_ops = 2000;
    o.num_keys = 5;
    o.max_spread_ns = 60;  // ~12 overlapping ops, ~2-3 per key
    CheckResult r = Check(GenerateLinearizableHistory(o), Soon());
    ASSERT_TRUE(r.ok()) << "seed " << seed << "\n" << r.Summary();
  }
}

TEST(RandomHistoryTest, MutatedHistoriesAreViolations) {
  const Mutation kMutations[] = {Mutation::kReadNeverWrittenValue,
                                 Mutation::kReadWrongVersion,
                                 Mutation::kReadBeforeWrite};
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    for (Mutation m : kMutations) {
      RandomHistoryOptions o;
      o.seed = seed;
      o.num_ops = 1000;
      o.num_keys = 5;
      o.max_spread_ns = 60;
      std::vector<Operation> ops = GenerateLinearizableHistory(o);
      std::optional<std::string> changed = MutateHistory(&ops, m, seed);
      ASSERT_TRUE(changed.has_value());
      CheckResult r = Check(ops, Soon());
      EXPECT_EQ(r.verdict, Verdict::kViolation)
          << "seed " << seed << " mutation " << static_cast<int>(m)
          << " changed " << *changed;
      EXPECT_EQ(r.violations, 1u);
    }
  }
}

// Splitting by key and memoizing keeps a long history cheap: 10,000 ops
// over 100 keys finish within a generous deadline (a search that blew up
// would hit it and report kTimeout). No wall-clock assertion here: the
// sanitizer build on a loaded machine is several times slower.
TEST(RandomHistoryTest, TenThousandOpsOverHundredKeysFinishWithinTheDeadline) {
  RandomHistoryOptions o;
  o.seed = 42;
  o.num_ops = 10000;
  o.num_keys = 100;
  o.max_spread_ns = 500;  // ~100 overlapping ops overall, ~1-2 per key
  std::vector<Operation> ops = GenerateLinearizableHistory(o);
  CheckResult r = Check(ops, steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.timeouts, 0u);
  EXPECT_EQ(r.keys.size(), 100u);
}

TEST(RandomHistoryTest, HighConcurrencyOnOneKey) {
  RandomHistoryOptions o;
  o.seed = 7;
  o.num_ops = 2000;
  o.num_keys = 1;
  o.max_spread_ns = 60;  // ~12 concurrent ops on the same key
  CheckResult r = Check(GenerateLinearizableHistory(o), Soon());
  EXPECT_TRUE(r.ok()) << r.Summary();
}

}  // namespace
}  // namespace shardkv::lincheck
