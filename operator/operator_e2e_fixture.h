// Test fixture of the operator's end-to-end tests (operator_e2e_test,
// operator_e2e_faults_test): the real kube-apiserver
// (kube/api_server_env.h), operators in-process with their real Kubernetes
// backend (KubeInfrastructure, the controller over gRPC, the intent in the
// status), and the kubelet simulator running REAL shardkv-node processes
// for the pods it creates. Keys go through the routing client and are
// remembered, so every one can be verified after each step.
//
// Thread-safety: test thread only; the simulator has its own thread.
#ifndef SHARDKV_OPERATOR_OPERATOR_E2E_FIXTURE_H_
#define SHARDKV_OPERATOR_OPERATOR_E2E_FIXTURE_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/routing_client.h"
#include "operator/operator_test_util.h"
#include "operator/testing/kubelet_sim.h"
#include "operator/testing/loopback_pod_addresses.h"

namespace shardkv::op {

// Where shardkv-node is: $SHARDKV_NODE_BIN_DIR, else <build>/bin.
std::string NodeBinDir();

class OperatorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the kubelet simulator on env's namespace; `hook` may change
  // its options first.
  void StartSim(
      OperatorTestEnv& env,
      const std::function<void(testing::KubeletSimOptions&)>& hook = {});
  // An operator with the real backend, watching env's namespace.
  std::unique_ptr<Operator> Start(OperatorTestEnv& env,
                                  const std::string& identity);
  std::unique_ptr<client::RoutingClient> Client(const ShardedKV& kv);

  // Writes "key-<from>".."key-<to - 1>" and remembers them.
  void WriteKeys(client::RoutingClient& client, int from, int to);
  // Reads back every key written; a failure names `when`.
  void VerifyKeys(client::RoutingClient& client, const std::string& when);

  // The Raft Admin Status of the node at `address` (short deadline).
  static StatusOr<v1::StatusResponse> NodeStatus(const std::string& address);

  std::filesystem::path work_;
  testing::LoopbackPodAddresses addresses_;
  std::unique_ptr<kube::KubeClient> backend_client_;
  std::unique_ptr<testing::KubeletSim> sim_;
  std::map<std::string, std::string> written_;
};

// The recorded intent of cluster "demo"; empty when no workflow runs
// (StatusIntentStore clears it to "", the field stays).
std::string WorkflowOf(OperatorTestEnv& env);
// "demo" has `shards` shards, every one fully ready, phase Running, no
// workflow recorded.
bool Settled(OperatorTestEnv& env, int shards);
// The condition `type` of "demo" ({} when absent).
Json ConditionOf(OperatorTestEnv& env, const std::string& type);
// Messages of the Events on "demo" with `reason`.
std::vector<std::string> EventMessages(OperatorTestEnv& env,
                                       const std::string& reason);
// A pod object of env's namespace ({} when absent).
Json PodOf(OperatorTestEnv& env, const std::string& name);
// The identity record's data of shard `shard` of "demo" (0: the
// controller group's).
Json IdentityOf(OperatorTestEnv& env, int shard);

double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OPERATOR_E2E_FIXTURE_H_
