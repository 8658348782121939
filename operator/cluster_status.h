// The status of a ShardedKV as a pure function of what the reconciler
// observed (observation.h) and the status written before (for the
// conditions' lastTransitionTime, which changes only when a condition's
// status does). Matches the status schema of crds/shardkv.io_shardedkvs.yaml
// except status.workflow, which belongs to the workflow's own field manager
// (operator/backend/status_intent_store.h) and is never named here.
//
// Conditions:
//   Available        every shard of the map has a quorum, every slot is
//                    owned, the controller answered
//   Progressing      a workflow runs or is about to (reason = its name)
//   Degraded         a replica is not ready, the controller did not answer,
//                    or the last workflow failed
//   Migrating        slots are moving (migrations in flight or planned)
//   ReplacingReplica a replica replacement runs
// Phase (a summary): Creating until the cluster was first bootstrapped,
// Scaling / Upgrading while those run, Failed when the last workflow
// failed and nothing runs, Degraded, else Running.
//
// Thread-safety: pure functions.
#ifndef SHARDKV_OPERATOR_CLUSTER_STATUS_H_
#define SHARDKV_OPERATOR_CLUSTER_STATUS_H_

#include "operator/decide.h"
#include "operator/observation.h"

namespace shardkv::op {

// `decision` is what Decide() said for this observation (the Progressing
// condition reports pending work too). `previous` is the object's current
// status (may be null or empty).
Json ComputeStatus(const Observation& observation, const Decision& decision,
                   const Json& previous);

// A condition of a status by type; nullptr when absent.
const Json* FindCondition(const Json& status, const std::string& type);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_CLUSTER_STATUS_H_
