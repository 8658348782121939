// The etcd and Redis targets against real servers started here (Debian's
// etcd-server and redis-server): a write lands (read back with each system's
// own client API), reads of present and missing keys succeed, and a short
// closed loop runs without errors. Skipped when a binary is not installed.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "client/bench/closed_loop.h"
#include "client/bench/etcd_target.h"
#include "client/bench/redis_target.h"
#include "testing/cluster/free_port.h"
#include "testing/cluster/process.h"
#include "testing/cluster/temp_dir.h"

namespace shardkv::bench {
namespace {

using std::chrono::milliseconds;

constexpr char kEtcd[] = "/usr/bin/etcd";
constexpr char kRedis[] = "/usr/bin/redis-server";

// Runs one operation and waits for its callback.
Status RunOne(Target& target, OpType type, const std::string& key,
              const std::string& value) {
  std::promise<Status> result;
  target.Start(0, type, key, value,
               [&result](const Status& s) { result.set_value(s); });
  return result.get_future().get();
}

template <typename Ready>
bool WaitUntil(Ready ready) {
  for (int i = 0; i < 200; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

LoopResult ShortLoop(Target& target, const Workload& workload) {
  LoopOptions lo;
  lo.clients = 4;
  lo.measure_from = BenchClock::now();
  lo.stop_at = lo.measure_from + milliseconds(300);
  return RunClosedLoop(
      target, workload.value(), lo,
      [&](int, std::mt19937_64& rng) { return workload.Next(rng); });
}

TEST(EtcdTargetTest, PutsAndRangesAgainstARealEtcd) {
  if (access(kEtcd, X_OK) != 0) {
    GTEST_SKIP() << kEtcd << " not installed (apt-get install etcd-server)";
  }
  auto dir = test::TempDir::Create("bench-etcd");
  ASSERT_TRUE(dir.ok());
  std::string client = "127.0.0.1:" + std::to_string(test::FreePort());
  std::string peer = "http://127.0.0.1:" + std::to_string(test::FreePort());
  test::ProcessOptions po;
  po.binary = kEtcd;
  po.args = {"--name",
             "m1",
             "--data-dir",
             dir->Join("data"),
             "--listen-client-urls",
             "http://" + client,
             "--advertise-client-urls",
             "http://" + client,
             "--listen-peer-urls",
             peer,
             "--initial-advertise-peer-urls",
             peer,
             "--initial-cluster",
             "m1=" + peer};
  po.log_path = dir->Join("etcd.log");
  auto etcd = test::Process::Start(po);
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();

  for (bool serializable : {false, true}) {
    EtcdTargetOptions o;
    o.endpoints = {client};
    o.serializable_reads = serializable;
    o.timeout = milliseconds(2000);
    EtcdTarget target(o);
    ASSERT_TRUE(WaitUntil([&] { return target.Check().ok(); }))
        << target.Check().message();
    std::string key = serializable ? "k-serializable" : "k-linearizable";
    ASSERT_TRUE(RunOne(target, OpType::kWrite, key, "value-1").ok());
    EXPECT_TRUE(RunOne(target, OpType::kRead, key, "").ok());
    EXPECT_TRUE(RunOne(target, OpType::kRead, "missing", "").ok());

    // Read back through a plain stub: the Put really stored our bytes.
    auto stub = etcdserverpb::KV::NewStub(
        grpc::CreateChannel(client, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    etcdserverpb::RangeResponse response;
    ASSERT_TRUE(stub->Range(&context, request, &response).ok());
    ASSERT_EQ(response.kvs_size(), 1);
    EXPECT_EQ(response.kvs(0).value(), "value-1");
    EXPECT_GT(response.header().revision(), 0);

    WorkloadOptions wo;
    wo.keys = 50;
    Workload workload(wo);
    LoopResult r = ShortLoop(target, workload);
    EXPECT_GT(r.total_ok(), 10u);
    EXPECT_EQ(r.total_errors(), 0u);
  }
  EXPECT_TRUE((*etcd)->Stop().ok());
}

TEST(EtcdTargetTest, ReportsAnUnreachableEndpoint) {
  EtcdTargetOptions o;
  o.endpoints = {"127.0.0.1:" + std::to_string(test::FreePort())};
  o.timeout = milliseconds(300);
  EtcdTarget target(o);
  Status s = target.Check();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(o.endpoints[0]), std::string::npos);
}

TEST(RedisTargetTest, SetsAndGetsAgainstARealRedis) {
  if (access(kRedis, X_OK) != 0) {
    GTEST_SKIP() << kRedis << " not installed (apt-get install redis-server)";
  }
  auto dir = test::TempDir::Create("bench-redis");
  ASSERT_TRUE(dir.ok());
  int port = test::FreePort();
  test::ProcessOptions po;
  po.binary = kRedis;
  po.args = {"--port",       std::to_string(port),
             "--bind",       "127.0.0.1",
             "--dir",        dir->path(),
             "--save",       "",
             "--appendonly", "no"};
  po.log_path = dir->Join("redis.log");
  auto redis = test::Process::Start(po);
  ASSERT_TRUE(redis.ok()) << redis.status().message();

  RedisTargetOptions o;
  o.endpoint = "127.0.0.1:" + std::to_string(port);
  o.clients = 4;
  RedisTarget target(o);
  ASSERT_TRUE(WaitUntil([&] { return target.Connect().ok(); }))
      << target.Connect().message();
  ASSERT_TRUE(RunOne(target, OpType::kWrite, "k1", "value-1").ok());
  EXPECT_TRUE(RunOne(target, OpType::kRead, "k1", "").ok());
  EXPECT_TRUE(RunOne(target, OpType::kRead, "missing", "").ok());

  redisContext* c = redisConnect("127.0.0.1", port);
  ASSERT_TRUE(c != nullptr && c->err == 0);
  auto* reply = static_cast<redisReply*>(redisCommand(c, "GET k1"));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str, reply->len), "value-1");
  freeReplyObject(reply);
  redisFree(c);

  WorkloadOptions wo;
  wo.keys = 50;
  Workload workload(wo);
  LoopResult r = ShortLoop(target, workload);
  EXPECT_GT(r.total_ok(), 10u);
  EXPECT_EQ(r.total_errors(), 0u);
  EXPECT_TRUE((*redis)->Stop().ok());
}

TEST(RedisTargetTest, RejectsABadEndpoint) {
  RedisTargetOptions o;
  o.endpoint = "no-port";
  RedisTarget target(o);
  EXPECT_EQ(target.Connect().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace shardkv::bench
