// shardkv::op::StatusIntentStore — the orchestration intent of one
// ShardedKV kept in its status (status.workflow, the EncodeIntent text),
// so an operator killed at any point resumes the workflow from the
// recorded step (Orchestrator::Resume) wherever it restarts.
//
// Written by server-side apply to the /status subresource with its own
// field manager (kWorkflowFieldManager), which owns only status.workflow:
// the reconciler's status writes (field manager "shardkv-operator", never
// naming status.workflow) neither clobber it nor are clobbered. Save
// returns once the API server has stored the status (etcd: durable).
// Clear writes an empty status.workflow (Load reads it as "no intent").
//
// Thread-safety: every method may be called from any thread (KubeClient is
// thread-safe); one workflow at a time writes it (the Orchestrator's).
#ifndef SHARDKV_OPERATOR_BACKEND_STATUS_INTENT_STORE_H_
#define SHARDKV_OPERATOR_BACKEND_STATUS_INTENT_STORE_H_

#include <optional>
#include <string>

#include "operator/kube/client.h"
#include "orchestration/intent_store.h"

namespace shardkv::op {

inline constexpr char kWorkflowFieldManager[] = "shardkv-operator-workflow";

class StatusIntentStore final : public orchestration::IntentStore {
 public:
  StatusIntentStore(kube::KubeClient& client, std::string ns, std::string name);

  // NOT_FOUND when the ShardedKV is gone; INVALID_ARGUMENT (naming the
  // cluster) when status.workflow holds text that is not an intent.
  StatusOr<std::optional<orchestration::Intent>> Load() override;
  Status Save(const orchestration::Intent& intent) override;
  Status Clear() override;

 private:
  Status ApplyWorkflow(const std::optional<std::string>& text);

  kube::KubeClient& client_;
  const std::string ns_;
  const std::string name_;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_STATUS_INTENT_STORE_H_
