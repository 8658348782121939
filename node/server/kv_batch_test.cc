// KV.Batch against three real shardkv-node processes: every item gets the
// outcome its single call would get (values, versions, failed conditions,
// per-item INVALID_ARGUMENT, NOT_LEADER on a follower, stale reads served
// by a follower), a batch over the item limit fails as a whole, and the
// bench's KvBatcher, driven by many concurrent writers, loses no write and
// reads each one back.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "client/bench/kv_batcher.h"
#include "client/endpoint_set.h"
#include "node/server/kv_service.h"
#include "tests/harness/cluster_test.h"

namespace shardkv::test {
namespace {

using Items = std::vector<v1::BatchItem>;

std::unique_ptr<v1::KV::Stub> Stub(const std::string& address) {
  return v1::KV::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                client::DefaultChannelArguments()));
}

v1::BatchItem SetItem(const std::string& key, const std::string& value,
                      uint64_t sequence = 0) {
  v1::BatchItem item;
  item.mutable_set()->set_key(key);
  item.mutable_set()->set_value(value);
  if (sequence != 0) {
    item.mutable_set()->mutable_request_id()->set_client_id(77);
    item.mutable_set()->mutable_request_id()->set_sequence(sequence);
  }
  return item;
}

v1::BatchItem GetItem(const std::string& key, bool stale = false) {
  v1::BatchItem item;
  item.mutable_get()->set_key(key);
  if (stale) item.mutable_get()->set_consistency(v1::CONSISTENCY_STALE);
  return item;
}

grpc::Status Batch(v1::KV::Stub& stub, const Items& items,
                   v1::BatchResponse* response) {
  v1::BatchRequest request;
  for (const auto& item : items) *request.add_items() = item;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return stub.Batch(&context, request, response);
}

class KvBatchTest : public ClusterTest {};

TEST_F(KvBatchTest, EachItemGetsTheOutcomeOfItsSingleCall) {
  NodeId leader = StartCluster({});
  ASSERT_NE(leader, 0u);
  auto stub = Stub(cluster_->address(leader));

  v1::BatchResponse r1;
  ASSERT_TRUE(
      Batch(*stub, {SetItem("a", "1"), SetItem("b", "2", 1)}, &r1).ok());
  ASSERT_EQ(r1.results_size(), 2);
  EXPECT_EQ(r1.results(0).code(), 0) << r1.results(0).message();
  EXPECT_EQ(r1.results(0).set().version(), 1u);
  EXPECT_EQ(r1.results(1).set().version(), 1u);

  v1::BatchItem if_absent = SetItem("a", "x");
  if_absent.mutable_set()->set_if_absent(true);
  v1::BatchItem del;
  del.mutable_delete_()->set_key("b");
  v1::BatchResponse r2;
  ASSERT_TRUE(Batch(*stub,
                    {GetItem("a"), if_absent, GetItem(""), del,
                     GetItem("missing"), SetItem("b", "2", 1), v1::BatchItem()},
                    &r2)
                  .ok());
  ASSERT_EQ(r2.results_size(), 7);
  EXPECT_EQ(r2.results(0).code(), 0);
  EXPECT_TRUE(r2.results(0).get().found());
  EXPECT_EQ(r2.results(0).get().value(), "1");
  EXPECT_EQ(r2.results(1).code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r2.results(1).detail().reason(), v1::CONDITION_FAILED);
  EXPECT_EQ(r2.results(1).detail().current_version(), 1u);
  EXPECT_EQ(r2.results(2).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r2.results(2).detail().reason(), v1::KEY_EMPTY);
  EXPECT_EQ(r2.results(3).code(), 0);
  EXPECT_TRUE(r2.results(3).delete_().deleted());
  EXPECT_EQ(r2.results(4).code(), 0);
  EXPECT_FALSE(r2.results(4).get().found());
  // A retry of an applied write (same client and sequence) answers the
  // original result and is not applied again.
  EXPECT_EQ(r2.results(5).code(), 0);
  EXPECT_EQ(r2.results(5).set().version(), 1u);
  EXPECT_EQ(r2.results(6).code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::BatchResponse r3;
  ASSERT_TRUE(Batch(*stub, {GetItem("b")}, &r3).ok());
  EXPECT_FALSE(r3.results(0).get().found()) << "the retry re-created b";
}

TEST_F(KvBatchTest, FollowerRefusesWritesAndLinearizableReadsServesStale) {
  NodeId leader = StartCluster({});
  ASSERT_NE(leader, 0u);
  v1::BatchResponse r0;
  ASSERT_TRUE(
      Batch(*Stub(cluster_->address(leader)), {SetItem("k", "v")}, &r0).ok());
  ASSERT_TRUE(cluster_->WaitConverged(kConvergeTimeout, cluster_->ids()).ok());
  NodeId follower = leader == 1 ? 2 : 1;
  v1::BatchResponse r;
  ASSERT_TRUE(Batch(*Stub(cluster_->address(follower)),
                    {SetItem("k", "w"), GetItem("k"), GetItem("k", true)}, &r)
                  .ok());
  ASSERT_EQ(r.results_size(), 3);
  for (int i : {0, 1}) {
    EXPECT_EQ(r.results(i).code(), grpc::StatusCode::UNAVAILABLE) << i;
    EXPECT_EQ(r.results(i).detail().reason(), v1::NOT_LEADER) << i;
    EXPECT_EQ(r.results(i).detail().leader_address(), cluster_->address(leader))
        << i;
  }
  EXPECT_EQ(r.results(2).code(), 0);
  EXPECT_EQ(r.results(2).get().value(), "v");
}

TEST_F(KvBatchTest, TooManyItemsFailTheCallEmptyBatchIsFine) {
  NodeId leader = StartCluster({});
  ASSERT_NE(leader, 0u);
  auto stub = Stub(cluster_->address(leader));
  Items items(server::KvService::kMaxBatchItems + 1, GetItem("k"));
  v1::BatchResponse r;
  grpc::Status s = Batch(*stub, items, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  v1::BatchResponse empty;
  EXPECT_TRUE(Batch(*stub, {}, &empty).ok());
  EXPECT_EQ(empty.results_size(), 0);
}

// 32 writers, each: set its key, then a linearizable read must return
// that value (the write was acknowledged before the read started).
TEST_F(KvBatchTest, BatcherUnderConcurrencyReadsEveryAcknowledgedWrite) {
  NodeId leader = StartCluster({});
  ASSERT_NE(leader, 0u);
  auto stub = Stub(cluster_->address(leader));
  constexpr int kWriters = 32;
  constexpr int kRounds = 20;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(1);
  {
    bench::KvBatcher batcher(stub.get(), /*max_in_flight=*/2,
                             /*max_items=*/8, std::chrono::seconds(10));
    auto fail = [&](const std::string& what) {
      if (failures.fetch_add(1) == 0) {
        std::lock_guard<std::mutex> lock(mu);
        first_failure[0] = what;
      }
    };
    std::function<void(int, int)> round = [&](int writer, int n) {
      if (n == kRounds) {
        std::lock_guard<std::mutex> lock(mu);
        ++finished;
        cv.notify_all();
        return;
      }
      std::string key = "w" + std::to_string(writer);
      std::string value = key + "-" + std::to_string(n);
      batcher.Submit(SetItem(key, value), [&, writer, n, key, value](
                                              const grpc::Status& s,
                                              const v1::BatchItemResult& set) {
        if (!s.ok() || set.code() != 0) fail("set " + value);
        batcher.Submit(GetItem(key), [&, writer, n, value](
                                         const grpc::Status& s2,
                                         const v1::BatchItemResult& get) {
          if (!s2.ok() || get.code() != 0 || get.get().value() != value) {
            fail("get after set " + value + " read '" + get.get().value() +
                 "'");
          }
          round(writer, n + 1);
        });
      });
    };
    for (int w = 0; w < kWriters; ++w) round(w, 0);
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return finished == kWriters; }));
  }
  EXPECT_EQ(failures.load(), 0) << first_failure[0];
}

}  // namespace
}  // namespace shardkv::test
