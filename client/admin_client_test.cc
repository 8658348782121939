#include "client/admin_client.h"

#include <gtest/gtest.h>

#include "client/fake_shard_server.h"

namespace shardkv::client {
namespace {

using testing::FakeShardServer;

std::unique_ptr<AdminClient> MakeAdmin(std::vector<std::string> endpoints) {
  AdminOptions o;
  o.endpoints = std::move(endpoints);
  o.timeout = std::chrono::milliseconds(2000);
  auto c = AdminClient::Create(o);
  EXPECT_TRUE(c.ok());
  return std::move(c).value();
}

TEST(AdminClientTest, MembershipChangesFollowTheLeaderHint) {
  FakeShardServer a, b;
  a.add_learner.Push(
      [&](auto&, auto*) { return testing::NotLeader(2, b.address()); });
  b.add_learner.SetFallback(
      [](const v1::AddLearnerRequest& req, v1::MembershipResponse* r) {
        auto* m = r->add_members();
        m->set_id(req.id());
        m->set_address(req.address());
        m->set_learner(true);
        return grpc::Status::OK;
      });
  b.promote.SetFallback([](auto&, auto*) { return grpc::Status::OK; });
  auto admin = MakeAdmin({a.address(), b.address()});
  auto r = admin->AddLearner(4, "127.0.0.1:7004");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->members_size(), 1);
  EXPECT_EQ(r->members(0).address(), "127.0.0.1:7004");
  ASSERT_TRUE(admin->Promote(4).ok());
  EXPECT_EQ(a.promote.requests().size(), 0u);  // went to B directly
  EXPECT_EQ(b.promote.requests().at(0).id(), 4u);
}

TEST(AdminClientTest, StatusAsksTheNamedReplicaOnly) {
  FakeShardServer a, b;
  b.status.SetFallback([](auto&, v1::StatusResponse* r) {
    r->set_id(2);
    r->set_role(v1::ROLE_LEADER);
    return grpc::Status::OK;
  });
  auto admin = MakeAdmin({a.address(), b.address()});
  auto r = admin->Status(b.address());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id(), 2u);
  EXPECT_TRUE(a.status.requests().empty());
  b.Shutdown();
  EXPECT_EQ(admin->Status(b.address()).status().code(), Code::kUnavailable);
}

TEST(AdminClientTest, UnknownMemberErrorIsNotRetried) {
  FakeShardServer a;
  a.remove_member.SetFallback([](auto&, auto*) {
    return testing::Failure(grpc::StatusCode::NOT_FOUND, "no member 9",
                            v1::UNKNOWN_MEMBER);
  });
  auto admin = MakeAdmin({a.address()});
  auto r = admin->RemoveMember(9);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(a.remove_member.requests().size(), 1u);
}

}  // namespace
}  // namespace shardkv::client
