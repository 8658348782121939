// shardkv::op::Operator — the control loop of the shardkv operator, usable
// as a library (the shardkv-operator binary and the tests run it the same
// way). Informers keep caches of ShardedKVs and of the StatefulSets and
// Pods labelled shardkv.io/cluster; any change queues the cluster's key
// ("namespace/name") on a rate-limited work queue; one reconcile thread
// takes keys and reconciles (reconciler.h): observe -> compute desired ->
// server-side apply -> decide the workflow -> write status. Workflows run
// on a thread per cluster (workflow_runner.h), so reconciling goes on
// while slots move.
//
// With leader election only the holder of the Lease reconciles, writes or
// runs workflows; a replica that stops leading aborts its workflows (their
// intents stay recorded in the resources' status) and the next leader
// resumes them. Stop() aborts the workflows before releasing the Lease, so
// two operators never run one cluster's workflow at once, short of a step
// still in flight when the lease expired (documented in operations.md).
//
// Thread-safety: Start/Stop from the owner; the accessors from any thread.
#ifndef SHARDKV_OPERATOR_OPERATOR_H_
#define SHARDKV_OPERATOR_OPERATOR_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "operator/cluster_backend.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/leader_election.h"
#include "operator/work_queue.h"
#include "orchestration/workflows.h"

namespace shardkv::op {

struct OperatorOptions {
  kube::KubeConfig kube_config;
  std::string watch_namespace;  // "" = every namespace
  std::string default_image = "shardkv:dev";
  std::string identity;  // this replica (events, Lease holder)

  bool leader_elect = false;
  std::string lease_name = "shardkv-operator";
  std::string lease_namespace = "default";
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::milliseconds retry_period{2000};

  // The controller group's StatefulSet for a spec and default image; empty
  // means ControllerStatefulSet() with DNS pod addresses. Tests that run
  // pods on loopback give the form with their PodAddresses.
  std::function<Json(const ShardedKV&, const std::string&)> controller_set;
  // Makes the per-cluster backend (required): KubeClusterBackendFactory
  // (kube_cluster_backend.h) in a cluster, a fake in some tests.
  ClusterBackendFactory backend_factory;
  orchestration::WorkflowOptions workflow;

  // Every cluster is reconciled again after this long (the slot map and
  // Raft leaders are not watched), and more often while a workflow runs.
  std::chrono::milliseconds resync{10'000};
  std::chrono::milliseconds busy_resync{1'000};
  // How long one watch lasts before the informers start the next.
  std::chrono::seconds watch_timeout{60};
  RateLimit retry{std::chrono::milliseconds(100), std::chrono::seconds(30)};
};

class Reconciler;

class Operator {
 public:
  // Fails on an unusable kube config.
  static StatusOr<std::unique_ptr<Operator>> Create(OperatorOptions options);
  ~Operator();  // Stop()
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Starts the informers, the elector (or leads at once without election)
  // and the reconcile thread; waits up to `sync_timeout` for the caches.
  Status Start(std::chrono::milliseconds sync_timeout =
                   std::chrono::milliseconds(30'000));
  // Aborts running workflows (they resume later), stops the threads and
  // releases the Lease. Idempotent.
  void Stop();

  bool leading() const { return leading_.load(); }
  // The caches are filled (readiness of the operator's pod).
  bool synced() const { return synced_.load(); }
  // Reconciles done (any outcome); for tests and logs.
  int reconciles() const { return reconciles_.load(); }
  // Lists the ShardedKV informer did (1 + relists after 410 or errors).
  int shardedkv_lists() const;
  // Tests: make the ShardedKV informer's next watch start from `version`.
  void SetShardedKVResourceVersionForTest(const std::string& version);

 private:
  Operator(OperatorOptions options, std::unique_ptr<kube::KubeClient> client);

  void EnqueueObject(const Json& object);
  void EnqueueAll();
  void OnStartedLeading();
  void OnStoppedLeading();
  void ReconcileLoop();

  OperatorOptions options_;
  std::unique_ptr<kube::KubeClient> client_;
  kube::EventRecorder events_;
  WorkQueue queue_;

  std::unique_ptr<kube::Informer> clusters_;
  std::unique_ptr<kube::Informer> sets_;
  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::unique_ptr<Reconciler> reconciler_;

  std::atomic<bool> leading_{false};
  std::atomic<bool> synced_{false};
  std::atomic<int> reconciles_{0};
  std::mutex stop_mu_;
  bool started_ = false;  // GUARDED_BY(stop_mu_)
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
  std::thread reconcile_thread_;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_OPERATOR_H_
