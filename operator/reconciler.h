// Reconciles one ShardedKV: observe (informer caches, the slot map, the
// recorded intent, the workflow thread) -> apply the desired controller
// objects and client Service (server-side apply, field manager
// "shardkv-operator") -> Decide() -> start the workflow on the cluster's
// WorkflowRunner (events WorkflowStarted / WorkflowSucceeded /
// WorkflowFailed) -> ComputeStatus() and apply it to /status when it
// changed. Shard StatefulSets, Services and PDBs are created, updated and
// deleted only by the workflows (KubeInfrastructure), so a shard never
// appears or goes outside a recorded step.
//
// Thread-safety: Reconcile is called by one thread (the reconcile loop);
// AbortAll and Forget from any thread. Workflow threads call back
// `enqueue` and record events.
#ifndef SHARDKV_OPERATOR_RECONCILER_H_
#define SHARDKV_OPERATOR_RECONCILER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "operator/cluster_backend.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/observe.h"
#include "operator/workflow_runner.h"

namespace shardkv::op {

struct ReconcilerContext {
  kube::KubeClient* client = nullptr;
  kube::EventRecorder* events = nullptr;
  const kube::Informer* clusters = nullptr;
  const kube::Informer* sets = nullptr;
  const kube::Informer* pods = nullptr;
  std::string default_image;
  // The controller StatefulSet (OperatorOptions::controller_set).
  std::function<Json(const ShardedKV&, const std::string&)> controller_set;
  ClusterBackendFactory backend_factory;
  orchestration::WorkflowOptions workflow;
  std::function<void(const std::string& key)> enqueue;
  // Checked under the reconciler's lock before acting, so a reconcile that
  // began before leadership was lost does nothing after AbortAll.
  std::function<bool()> leading;
  std::chrono::milliseconds resync{10'000};
  std::chrono::milliseconds busy_resync{1'000};
};

class Reconciler {
 public:
  explicit Reconciler(ReconcilerContext context);
  ~Reconciler();  // AbortAll()

  // Reconciles `key` ("namespace/name"). OK: reconcile again after the
  // returned delay; an error: retry with backoff.
  StatusOr<std::chrono::milliseconds> Reconcile(const std::string& key);

  // Stops every running workflow (intents stay recorded) and waits for
  // their threads.
  void AbortAll();

 private:
  struct Cluster {
    std::string uid;
    Json reference;  // apiVersion, kind, metadata (for events)
    std::unique_ptr<ClusterBackend> backend;
    std::unique_ptr<WorkflowRunner> runner;
    UnreadyTracker unready;
    // The last "Waiting" reason an Event was recorded for (once per reason).
    std::string reported_wait;
  };

  StatusOr<Cluster*> ClusterFor(const std::string& key, const ShardedKV& kv,
                                const Json& object);
  void Remove(const std::string& key);
  Status ApplyControlObjects(const ShardedKV& kv);
  Observation Observe(Cluster& cluster, const ShardedKV& kv);
  Status StartWorkflow(Cluster& cluster, const ShardedKV& kv,
                       const Observation& o, const Decision& decision);
  void OnWorkflowDone(const std::string& key, const Json& reference,
                      const WorkflowRequest& request, const Status& result);
  // A Warning Event when a replacement is held back (shard without a
  // quorum), once per distinct reason.
  void ReportWait(Cluster& cluster, const Decision& decision);
  Status WriteStatus(const ShardedKV& kv, const Json& object,
                     const Json& status);

  const ReconcilerContext context_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Cluster>> clusters_;  // GUARDED_BY
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_RECONCILER_H_
