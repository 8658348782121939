#include "operator/backend/identity_record.h"

#include <gtest/gtest.h>

namespace shardkv::op {
namespace {

TEST(IdentityRecordTest, InitialIdsAreOrdinalPlusOneAllFresh) {
  IdentityRecord r = IdentityRecord::Initial(3, "abc");
  EXPECT_EQ(r.ids, (std::map<int, uint64_t>{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_EQ(r.fresh, (std::set<uint64_t>{1, 2, 3}));
  EXPECT_EQ(r.OrdinalOf(2), 1);
  EXPECT_FALSE(r.OrdinalOf(4).has_value());
  Json data = r.ToData();
  EXPECT_EQ(data["replica-1"], "2");
  EXPECT_EQ(data["fresh"], "1 2 3");
  EXPECT_EQ(data["incarnation"], "abc");
}

TEST(IdentityRecordTest, RoundTripsAReplacement) {
  IdentityRecord r = IdentityRecord::Initial(3, "abc");
  r.ids[1] = 4;
  r.fresh = {4};
  r.wipes[1] = 4;
  auto back = ParseIdentityRecord(r.ToData());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ids, r.ids);
  EXPECT_EQ(back->fresh, r.fresh);
  EXPECT_EQ(back->wipes, r.wipes);
  EXPECT_EQ(back->incarnation, "abc");
}

TEST(IdentityRecordTest, RejectsBadRecordsWithTheirKey) {
  for (const Json& data : {Json{{"replica-0", "x"}, {"incarnation", "a"}},
                           Json{{"replica-0", "0"}, {"incarnation", "a"}},
                           Json{{"replica-0", 1}, {"incarnation", "a"}},
                           Json{{"fresh", "1 two"}, {"incarnation", "a"}},
                           Json{{"replica-0", "1"}}, Json::array()}) {
    auto r = ParseIdentityRecord(data);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << data.dump();
  }
}

}  // namespace
}  // namespace shardkv::op
