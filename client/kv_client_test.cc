#include "client/kv_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "client/fake_shard_server.h"

namespace shardkv::client {
namespace {

using std::chrono::milliseconds;
using testing::FakeShardServer;

grpc::Status SetOk(uint64_t version, v1::SetResponse* r) {
  r->set_version(version);
  return grpc::Status::OK;
}

std::unique_ptr<Client> MakeClient(std::vector<std::string> endpoints,
                                   milliseconds timeout = milliseconds(3000)) {
  ClientOptions o;
  o.endpoints = std::move(endpoints);
  o.timeout = timeout;
  o.retry.initial_backoff = milliseconds(5);
  o.retry.max_backoff = milliseconds(50);
  auto c = Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

TEST(ClientTest, RejectsEmptyAndMalformedEndpoints) {
  ClientOptions o;
  EXPECT_EQ(Client::Create(o).status().code(), Code::kInvalidArgument);
  o.endpoints = {"no-port"};
  EXPECT_EQ(Client::Create(o).status().code(), Code::kInvalidArgument);
}

TEST(ClientTest, FollowsNotLeaderHintAndRemembersTheLeader) {
  FakeShardServer a, b;
  a.set.Push([&](auto&, auto*) { return testing::NotLeader(2, b.address()); });
  b.set.SetFallback([](auto&, auto* r) { return SetOk(7, r); });
  auto client = MakeClient({a.address(), b.address()});

  auto first = client->Set("k", "v");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->version, 7u);
  EXPECT_EQ(client->leader_address(), b.address());
  ASSERT_TRUE(client->Set("k", "w").ok());

  ASSERT_EQ(a.set.requests().size(), 1u);  // the second write skipped A
  auto at_b = b.set.requests();
  ASSERT_EQ(at_b.size(), 2u);
  // The redirected write kept its request id; the next one is numbered on.
  auto at_a = a.set.requests();
  const auto& id0 = at_a[0].request_id();
  EXPECT_NE(id0.client_id(), 0u);
  EXPECT_EQ(at_b[0].request_id().client_id(), id0.client_id());
  EXPECT_EQ(at_b[0].request_id().sequence(), id0.sequence());
  EXPECT_EQ(at_b[1].request_id().client_id(), id0.client_id());
  EXPECT_EQ(at_b[1].request_id().sequence(), id0.sequence() + 1);
}

TEST(ClientTest, RetryOfTheSameWriteReusesItsSequence) {
  FakeShardServer a;
  a.del.Push([](auto&, auto*) {
    return testing::Failure(grpc::StatusCode::UNAVAILABLE, "no quorum",
                            v1::NO_QUORUM);
  });
  a.del.Push([](auto&, auto*) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy");
  });
  a.del.SetFallback([](auto&, v1::DeleteResponse* r) {
    r->set_deleted(true);
    return grpc::Status::OK;
  });
  auto client = MakeClient({a.address()});
  auto r = client->Delete("k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->deleted);
  auto reqs = a.del.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& req : reqs) {
    EXPECT_EQ(req.request_id().client_id(), reqs[0].request_id().client_id());
    EXPECT_EQ(req.request_id().sequence(), reqs[0].request_id().sequence());
  }
}

TEST(ClientTest, UnreachableReplicaIsSkipped) {
  FakeShardServer dead, b;
  std::string dead_address = dead.address();
  dead.Shutdown();
  b.get.SetFallback([](auto&, v1::GetResponse* r) {
    r->set_found(true);
    r->set_value("hello");
    r->set_version(3);
    r->set_ttl_ms(1500);
    return grpc::Status::OK;
  });
  auto client = MakeClient({dead_address, b.address()});
  auto r = client->Get("k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, "hello");
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->ttl, milliseconds(1500));
  EXPECT_EQ(b.get.requests()[0].consistency(), v1::CONSISTENCY_LINEARIZABLE);
}

TEST(ClientTest, MissingKeyIsNotFound) {
  FakeShardServer a;
  a.get.SetFallback([](auto&, auto*) { return grpc::Status::OK; });
  auto client = MakeClient({a.address()});
  EXPECT_EQ(client->Get("nope").status().code(), Code::kNotFound);
}

TEST(ClientTest, FailedConditionCarriesTheCurrentVersion) {
  FakeShardServer a;
  a.set.Push([](auto&, auto*) {
    return testing::Failure(grpc::StatusCode::FAILED_PRECONDITION,
                            "version mismatch", v1::CONDITION_FAILED, 5);
  });
  auto client = MakeClient({a.address()});
  SetOptions o;
  o.if_version = 4;
  auto r = client->Set("k", "v", o);
  ASSERT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ConditionFailedVersion(r.status()), 5u);
  EXPECT_EQ(a.set.requests().at(0).if_version(), 4u);
  EXPECT_EQ(a.set.requests().size(), 1u);  // not retried
}

TEST(ClientTest, InvalidArgumentIsReturnedWithTheServerMessage) {
  FakeShardServer a;
  a.set.SetFallback([](auto&, auto*) {
    return testing::Failure(grpc::StatusCode::INVALID_ARGUMENT,
                            "value is 2000000 bytes, limit 1048576",
                            v1::VALUE_TOO_LARGE);
  });
  auto client = MakeClient({a.address()});
  auto r = client->Set("k", "v");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("limit 1048576"), std::string::npos);
  EXPECT_EQ(a.set.requests().size(), 1u);
}

TEST(ClientTest, GivesUpAtTheDeadlineWhenThereIsNoQuorum) {
  FakeShardServer a, b;
  auto no_quorum = [](auto&, auto*) {
    return testing::Failure(grpc::StatusCode::UNAVAILABLE, "no quorum",
                            v1::NO_QUORUM);
  };
  a.set.SetFallback(no_quorum);
  b.set.SetFallback(no_quorum);
  auto client = MakeClient({a.address(), b.address()}, milliseconds(300));
  auto start = Clock::now();
  auto r = client->Set("k", "v");
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no quorum"), std::string::npos);
  EXPECT_GE(took, milliseconds(290));
  // Far below the default timeout; loose for loaded CI machines.
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_GT(a.set.requests().size() + b.set.requests().size(), 4u);
}

TEST(ClientTest, StaleReadsGoToTheFirstReplica) {
  FakeShardServer a, b;
  a.get.SetFallback([](auto&, v1::GetResponse* r) {
    r->set_found(true);
    return grpc::Status::OK;
  });
  auto client = MakeClient({a.address(), b.address()});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->Get("k", Consistency::kStale).ok());
  }
  ASSERT_EQ(a.get.requests().size(), 3u);
  EXPECT_EQ(a.get.requests()[0].consistency(), v1::CONSISTENCY_STALE);
  EXPECT_TRUE(b.get.requests().empty());
}

// At most one write in flight per client_id, even with concurrent callers.
TEST(ClientTest, ConcurrentWritesUseDistinctSessions) {
  FakeShardServer a;
  std::mutex mu;
  std::set<uint64_t> in_flight;
  std::map<uint64_t, uint64_t> last_sequence;
  std::atomic<bool> overlap{false};
  a.set.SetFallback([&](const v1::SetRequest& req, v1::SetResponse* r) {
    uint64_t id = req.request_id().client_id();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!in_flight.insert(id).second) overlap = true;
      if (req.request_id().sequence() <= last_sequence[id]) overlap = true;
      last_sequence[id] = req.request_id().sequence();
    }
    std::this_thread::sleep_for(milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    in_flight.erase(id);
    return SetOk(1, r);
  });
  auto client = MakeClient({a.address()});
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Set("k", "v").ok());
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(a.set.requests().size(), 20u);
  EXPECT_GE(last_sequence.size(), 2u);  // several sessions were used
  EXPECT_LE(last_sequence.size(), 4u);  // and reused, not one per write
}

// A write whose fate is unknown retires its session: the next write must not
// share a client_id with a request that may still be in flight.
TEST(ClientTest, SessionOfAnAmbiguousWriteIsNotReused) {
  FakeShardServer a;
  a.set.Push([](auto&, auto*) {
    std::this_thread::sleep_for(milliseconds(400));
    return grpc::Status::OK;
  });
  a.set.SetFallback([](auto&, auto* r) { return SetOk(2, r); });
  auto client = MakeClient({a.address()}, milliseconds(150));
  EXPECT_FALSE(client->Set("k", "v").ok());
  SetOptions longer;
  longer.timeout = milliseconds(3000);
  ASSERT_TRUE(client->Set("k", "w", longer).ok());
  auto reqs = a.set.requests();
  EXPECT_NE(reqs.front().request_id().client_id(),
            reqs.back().request_id().client_id());
}

TEST(ClientTest, BackoffGrowsWithJitterUpToTheCap) {
  RetryPolicy p;
  p.initial_backoff = milliseconds(10);
  p.max_backoff = milliseconds(100);
  for (int i = 0; i < 50; ++i) {
    auto d0 = BackoffDelay(p, 0);
    EXPECT_GE(d0, milliseconds(5));
    EXPECT_LE(d0, milliseconds(10));
    auto d3 = BackoffDelay(p, 3);
    EXPECT_GE(d3, milliseconds(40));
    EXPECT_LE(d3, milliseconds(80));
    auto d20 = BackoffDelay(p, 20);
    EXPECT_GE(d20, milliseconds(50));
    EXPECT_LE(d20, milliseconds(100));
  }
}

}  // namespace
}  // namespace shardkv::client
