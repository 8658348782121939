// The node's gRPC health service, probed the way a Kubernetes readiness
// probe does: SERVING once the replica is in a group with a leader and
// caught up, NOT_SERVING when its group has lost its quorum.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/harness/shard_cluster.h"

namespace shardkv::test {
namespace {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Probe(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) {
    return HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

// Waits up to `timeout` for `address` to report `want`.
bool WaitFor(const std::string& address,
             HealthCheckResponse::ServingStatus want, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Probe(address) == want) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

TEST(HealthTest, ServingOnlyWhileTheGroupHasALeader) {
  ClusterOptions options;
  options.name = "health";
  auto cluster = ShardCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ShardCluster& c = **cluster;
  // Generous: three processes opening RocksDB on a loaded CI machine.
  auto leader = c.WaitForLeader(milliseconds(30000), c.ids());
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  for (NodeId id : c.ids()) {
    EXPECT_TRUE(WaitFor(c.address(id), HealthCheckResponse::SERVING,
                        milliseconds(5000)))
        << "node " << id;
  }
  // Two of three gone: the survivor has no leader and must not be ready.
  ASSERT_TRUE(c.Kill(1).ok());
  ASSERT_TRUE(c.Kill(2).ok());
  EXPECT_TRUE(WaitFor(c.address(3), HealthCheckResponse::NOT_SERVING,
                      milliseconds(10000)));
  ASSERT_TRUE(c.Restart(1).ok());
  EXPECT_TRUE(
      WaitFor(c.address(3), HealthCheckResponse::SERVING, milliseconds(10000)));
}

}  // namespace
}  // namespace shardkv::test
