// Test fixture of the Kubernetes backend's integration tests: a namespace
// of the real kube-apiserver (operator/kube/api_server_env.h) with the
// ShardedKV CRD, one ShardedKV, the kubelet simulator running its pods as
// real shardkv-node processes on loopback, its controller group applied
// and ready, and an Orchestrator over KubeInfrastructure +
// StatusIntentStore + the controller's and shards' gRPC services. Keys are
// written and verified through the routing client.
//
// Thread-safety: test thread only, except Writes(), which its own writer
// thread runs.
#ifndef SHARDKV_OPERATOR_BACKEND_BACKEND_FIXTURE_H_
#define SHARDKV_OPERATOR_BACKEND_BACKEND_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "client/routing_client.h"
#include "operator/backend/kube_infrastructure.h"
#include "operator/backend/status_intent_store.h"
#include "operator/testing/kubelet_sim.h"
#include "orchestration/admin_shard_admin.h"
#include "orchestration/grpc_controller_api.h"
#include "orchestration/workflows.h"

namespace shardkv::op {

class BackendTest : public ::testing::Test {
 protected:
  // Starts everything for a ShardedKV with `spec` (merged over small
  // defaults: 3 replicas per shard, 1 controller, 64 slots).
  void StartCluster(const Json& spec);
  void TearDown() override;

  // A fresh Orchestrator (as after an operator restart) with `options`.
  std::unique_ptr<orchestration::Orchestrator> NewOrchestrator(
      orchestration::WorkflowOptions options = Fast());
  static orchestration::WorkflowOptions Fast();

  // Writes keys "<prefix>-0".. and remembers them; Verify reads each back.
  void WriteKeys(const std::string& prefix, int count);
  void VerifyKeys();

  Json Get(const kube::Resource& resource, const std::string& name);
  bool Exists(const kube::Resource& resource, const std::string& name);
  std::vector<std::string> ClaimNames(int shard);
  std::string WorkflowInStatus();
  // Waits up to `timeout` for `done`.
  static bool WaitFor(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout);

  std::string ns_;
  std::string work_dir_;
  std::unique_ptr<kube::KubeClient> kube_;
  ShardedKV kv_;
  testing::LoopbackPodAddresses addresses_;
  std::unique_ptr<testing::KubeletSim> sim_;
  std::unique_ptr<KubeInfrastructure> infra_;
  std::unique_ptr<StatusIntentStore> intents_;
  std::unique_ptr<orchestration::GrpcControllerApi> controller_;
  std::unique_ptr<orchestration::AdminShardAdmin> admin_;
  std::unique_ptr<client::RoutingClient> client_;
  std::map<std::string, std::string> written_;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_BACKEND_FIXTURE_H_
