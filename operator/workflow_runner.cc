#include "operator/workflow_runner.h"

#include <pthread.h>

namespace shardkv::op {

std::string WorkflowName(Action action) {
  switch (action) {
    case Action::kBootstrap:
    case Action::kScaleOut:
      return orchestration::kScaleOut;
    case Action::kScaleIn:
      return orchestration::kScaleIn;
    case Action::kReplaceReplica:
      return orchestration::kReplaceReplica;
    case Action::kRollingUpgrade:
      return orchestration::kRollingUpgrade;
    default:
      return "";
  }
}

WorkflowRunner::WorkflowRunner(std::string cluster_name,
                               ClusterBackend& backend,
                               orchestration::WorkflowOptions options,
                               DoneCallback on_done)
    : cluster_name_(std::move(cluster_name)),
      backend_(backend),
      options_(std::move(options)),
      on_done_(std::move(on_done)) {}

WorkflowRunner::~WorkflowRunner() {
  RequestAbort();
  Join();
}

Status WorkflowRunner::Start(WorkflowRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) {
    return FailedPrecondition("a " + observation_.workflow +
                              " is running for " + cluster_name_);
  }
  // The previous workflow's thread has finished (running_ is false): reap it.
  if (thread_.joinable()) thread_.join();
  abort_.store(false);
  cancel_wanted_.store(false);
  running_ = true;
  observation_.running = true;
  observation_.workflow = request.workflow;
  observation_.progress = {};
  observation_.progress.workflow = request.workflow;
  observation_.replacing_shard = 0;
  observation_.replacing_pod.clear();
  if (request.decision.action == Action::kReplaceReplica) {
    observation_.replacing_shard = request.decision.shard;
    observation_.replacing_pod = request.pod;
  }
  thread_ = std::thread([this, request = std::move(request)] { Run(request); });
  return Status::Ok();
}

bool WorkflowRunner::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void WorkflowRunner::Join() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

WorkflowObservation WorkflowRunner::Observe() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observation_;
}

void WorkflowRunner::Run(WorkflowRequest request) {
  std::string name = "wf-" + cluster_name_;
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());

  orchestration::WorkflowOptions options = options_;
  options.on_progress = [this](const orchestration::Progress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    observation_.progress = p;
    if (!p.workflow.empty()) observation_.workflow = p.workflow;
  };
  options.cancel_requested = [this] { return cancel_wanted_.load(); };
  options.abort_requested = [this] { return abort_.load(); };
  orchestration::Orchestrator orchestrator(
      backend_.infrastructure(), backend_.controller(), backend_.admin(),
      backend_.intents(), options);

  Status result = Execute(orchestrator, request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (request.workflow.empty()) request.workflow = observation_.workflow;
    running_ = false;
    observation_.running = false;
    observation_.last_workflow = request.workflow;
    // An aborted workflow did not fail: it resumes later. A cancelled
    // scale-in did what was asked.
    const bool failed = !result.ok() && result.code() != Code::kAborted &&
                        result.code() != Code::kCancelled;
    observation_.last_error = failed ? result.message() : "";
    observation_.consecutive_failures =
        failed ? observation_.consecutive_failures + 1 : 0;
    observation_.finished_at = std::chrono::steady_clock::now();
  }
  if (on_done_) on_done_(request, result);
}

Status WorkflowRunner::Execute(orchestration::Orchestrator& orchestrator,
                               const WorkflowRequest& request) {
  const Decision& d = request.decision;
  switch (d.action) {
    case Action::kResume:
      return orchestrator.Resume();
    case Action::kBootstrap:
    case Action::kScaleOut:
      return orchestrator.ScaleOut(d.shards);
    case Action::kScaleIn:
      return orchestrator.ScaleIn(d.shards);
    case Action::kReplaceReplica:
      return orchestrator.ReplaceReplica(d.shard, request.replica);
    case Action::kRollingUpgrade:
      return orchestrator.RollingUpgrade(d.shards);
    default:
      return InvalidArgument(std::string("no workflow for action ") +
                             ActionName(d.action));
  }
}

}  // namespace shardkv::op
