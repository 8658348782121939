// Runs one cluster's workflows (orchestration::Orchestrator) on a thread of
// its own, so a scale-out that moves slots for an hour does not hold up the
// reconcile loop of every other cluster. One workflow at a time: Start
// REQUIRES !running(). The reconciler polls Observe() for the status and
// sets the scale-in cancel flag; RequestAbort() (shutdown, lost leadership)
// stops the workflow between steps or in a wait with its intent still
// recorded, so the next leader resumes it.
//
// Thread-safety: all public methods may be called from any thread. The
// workflow thread ("wf-<name>") calls `on_done` last, after the workflow
// ended, without any runner lock held.
#ifndef SHARDKV_OPERATOR_WORKFLOW_RUNNER_H_
#define SHARDKV_OPERATOR_WORKFLOW_RUNNER_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "operator/cluster_backend.h"
#include "operator/decide.h"
#include "operator/observation.h"
#include "orchestration/workflows.h"

namespace shardkv::op {

// What StartWorkflow runs: a Decision plus, for a replacement, the Raft id
// of the replica to replace (looked up by the reconciler).
struct WorkflowRequest {
  Decision decision;
  orchestration::ReplicaId replica = 0;
  std::string pod;  // replacement: the pod whose replica is replaced
  // The workflow's name ("scale-out", ...), for events and the status.
  std::string workflow;
};

class WorkflowRunner {
 public:
  using DoneCallback =
      std::function<void(const WorkflowRequest& request, const Status& result)>;

  // `backend` must outlive the runner. `options` are the workflows' own
  // (timeouts, poll interval); the runner sets the callbacks.
  WorkflowRunner(std::string cluster_name, ClusterBackend& backend,
                 orchestration::WorkflowOptions options, DoneCallback on_done);
  ~WorkflowRunner();  // RequestAbort() and Join()
  WorkflowRunner(const WorkflowRunner&) = delete;
  WorkflowRunner& operator=(const WorkflowRunner&) = delete;

  // Starts `request` on the workflow thread. FAILED_PRECONDITION while one
  // runs.
  Status Start(WorkflowRequest request);
  bool running() const;
  // The scale-in being drained should be cancelled (polled by the
  // workflow; ignored once the scale-in is past draining).
  void SetCancelWanted(bool cancel) { cancel_wanted_.store(cancel); }
  // Stops the running workflow at its next step or wait (ABORTED; the
  // intent stays recorded). Sticky until Start is called again.
  void RequestAbort() { abort_.store(true); }
  // Waits for the workflow thread to end.
  void Join();

  WorkflowObservation Observe() const;

 private:
  void Run(WorkflowRequest request);
  Status Execute(orchestration::Orchestrator& orchestrator,
                 const WorkflowRequest& request);

  const std::string cluster_name_;
  ClusterBackend& backend_;
  const orchestration::WorkflowOptions options_;
  const DoneCallback on_done_;

  std::atomic<bool> cancel_wanted_{false};
  std::atomic<bool> abort_{false};

  mutable std::mutex mu_;
  bool running_ = false;             // GUARDED_BY(mu_)
  WorkflowObservation observation_;  // GUARDED_BY(mu_)
  std::thread thread_;               // GUARDED_BY(mu_)
};

// The orchestration workflow name a request runs ("" for a resume, whose
// name comes from the recorded intent).
std::string WorkflowName(Action action);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_WORKFLOW_RUNNER_H_
