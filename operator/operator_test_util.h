// Test support for the operator's integration tests: a namespace of the
// real API server of ApiServerEnvironment with the ShardedKV CRD
// installed, helpers to create and edit clusters and read their status and
// Events, and Operators started in-process against it. By default each
// cluster's data plane is a FakeClusterBackend shared by every operator
// the env starts (as a real cluster is shared by operator replicas).
//
// Thread-safety: one test thread; the backend factory is called from the
// operators' reconcile threads and locks.
#ifndef SHARDKV_OPERATOR_OPERATOR_TEST_UTIL_H_
#define SHARDKV_OPERATOR_OPERATOR_TEST_UTIL_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/fake_cluster_backend.h"
#include "operator/kube/client.h"
#include "operator/observation.h"
#include "operator/operator.h"

namespace shardkv::op {

inline const kube::Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs",
                                        true};
inline const kube::Resource kStatefulSets{"apps", "v1", "statefulsets", true};
inline const kube::Resource kServices{"", "v1", "services", true};
inline const kube::Resource kEvents{"", "v1", "events", true};

template <typename Pred>
bool Eventually(Pred pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

// "True"/"False"/"absent" of condition `type` in a status.
std::string ConditionStatus(const Json& status, const std::string& type);

class OperatorTestEnv {
 public:
  // Creates namespace `ns` (and installs the CRD on first use).
  explicit OperatorTestEnv(std::string ns);

  kube::KubeClient& client() { return *client_; }
  const std::string& ns() const { return ns_; }

  Status CreateCluster(const std::string& name, int shards,
                       const Json& extra_spec = Json::object());
  Json Get(const std::string& name);
  Json StatusOf(const std::string& name);  // {} when none yet
  Status SetShards(const std::string& name, int shards);
  Status MergeSpec(const std::string& name, const Json& spec);
  bool HasEvent(const std::string& name, const std::string& reason);

  // An operator watching this namespace, started (nullptr on failure,
  // with a test failure). `options_hook` may change the options first.
  std::unique_ptr<Operator> StartOperator(
      const std::string& identity, bool leader_elect = false,
      const std::function<void(OperatorOptions&)>& options_hook = {});

  // The shared fake data plane of cluster `name` (the latest made).
  std::shared_ptr<FakeClusterBackend> backend(const std::string& name);
  int backends_made(const std::string& name);
  std::vector<ShardId> MapShardIds(const std::string& name);

 private:
  ClusterBackendFactory SharedFakeFactory();

  const std::string ns_;
  std::unique_ptr<kube::KubeClient> client_;
  std::mutex mu_;
  // Per cluster uid: the shared backend; per name: the latest uid.
  std::map<std::string, std::shared_ptr<FakeClusterBackend>> by_uid_;
  std::map<std::string, std::string> uid_of_;
  std::map<std::string, int> made_;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OPERATOR_TEST_UTIL_H_
