// shardkv::op::testing::KubeletSim — plays, for one namespace of a real
// kube-apiserver, the parts of Kubernetes that tests here lack (no
// kube-controller-manager, no kubelet, no scheduler):
//   - the StatefulSet controller: for each StatefulSet it creates the Pod
//     objects of ordinals 0..replicas-1 and their PVCs (from the
//     volumeClaimTemplates), recreates deleted pods from the current
//     template (labelled with controller-revision-hash, a hash of the
//     template), deletes pods above `replicas` and the pods of a deleted
//     set, and writes status (replicas, readyReplicas, currentRevision,
//     updateRevision, observedGeneration);
//   - the pvc-protection controller: removes its finalizer from a deleted
//     PVC that no running pod uses, and wipes the PVC's directory;
//   - the kubelet: runs each pod's container command (/bin/sh -c script)
//     as a REAL process with POD_NAME and SHARDKV_LISTEN (the pod's
//     loopback address) in its environment, its volumes "mounted" by
//     rewriting their mountPaths in the command to local directories (a
//     PVC = a directory per claim name; a ConfigMap = a directory with one
//     file per key, written when the pod starts), PATH led by the build's
//     bin directory (shardkv-node); it writes the pod's Ready condition from
//     the node's grpc.health.v1 answer, and restarts an exited container
//     after a back-off (restartCount, lastState.terminated.message).
// Faults: LosePod (kill -9 + delete the Pod object), LosePodWithPvc
// (the same and the PVC's directory wiped, the PVC object deleted), and
// HoldDown (kill -9, the Pod object stays, unready, its container not
// restarted until Release: a node that is down, its disk intact).
// Observers: on_container_stopping is called before the sim stops a
// container because its Pod object went (deleted or replaced), as the
// kubelet would send SIGTERM; tests ask the node then whether it leads.
//
// Thread-safety: public methods may be called from any thread. It owns
// one thread ("kubelet-sim") that watches (by polling lists) and acts;
// Stop() (also the destructor) kills and reaps every process it started.
#ifndef SHARDKV_OPERATOR_TESTING_KUBELET_SIM_H_
#define SHARDKV_OPERATOR_TESTING_KUBELET_SIM_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "operator/kube/client.h"
#include "operator/testing/loopback_pod_addresses.h"

namespace shardkv::op::testing {

using Json = nlohmann::json;

struct KubeletSimOptions {
  std::string ns;
  std::string bin_dir;   // holds shardkv-node
  std::string work_dir;  // PVC and ConfigMap directories, logs
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds restart_backoff{1000};
  // Called on the sim's thread, its lock held (so it must not call the
  // sim), with the pod's name and loopback address, before SIGTERM.
  std::function<void(const std::string& pod, const std::string& address)>
      on_container_stopping;
};

class KubeletSim {
 public:
  KubeletSim(kube::KubeClient& client, const LoopbackPodAddresses& addresses,
             KubeletSimOptions options);
  ~KubeletSim();
  KubeletSim(const KubeletSim&) = delete;
  KubeletSim& operator=(const KubeletSim&) = delete;

  Status Start();
  void Stop();

  // kill -9 of the pod's process and deletion of its Pod object (the
  // StatefulSet part recreates it, on the same PVC).
  Status LosePod(const std::string& pod_name);
  // LosePod, and the PVC's data wiped and the PVC object deleted (the pod
  // comes back on a new, empty claim).
  Status LosePodWithPvc(const std::string& pod_name);
  // kill -9 of the pod's process, which is not restarted (the Pod object
  // stays, not Ready) until Release.
  Status HoldDown(const std::string& pod_name);
  void Release(const std::string& pod_name);

  // The directory that plays PVC `claim_name` ("data-demo-shard-1-0").
  std::string PvcDir(const std::string& claim_name) const;
  // The container's output so far (all its runs).
  std::string PodLog(const std::string& pod_name) const;
  // Whether a process runs for the pod now.
  bool Running(const std::string& pod_name) const;
  // Times the pod's container exited since its Pod object was created.
  int RestartCount(const std::string& pod_name) const;

 private:
  struct Pod;
  void Loop();
  void SyncOnceLocked();
  void SyncStatefulSet(const Json& set, const std::vector<Json>& pods,
                       std::vector<Json>& claims);
  void CreatePod(const Json& set, int ordinal, const std::string& revision,
                 std::vector<Json>& claims);
  void SyncPodsLocked(const std::vector<Json>& pods);
  void SyncContainerLocked(Pod& pod);
  void SyncClaimsLocked(const std::vector<Json>& claims);
  Status StartPodLocked(Pod& pod);
  // SIGTERM and a grace period (kill: SIGKILL at once), then reaped.
  void StopPodLocked(Pod& pod, bool kill);
  Status Lose(const std::string& pod_name, bool wipe_claims);
  std::string LogPath(const std::string& pod_name) const;

  kube::KubeClient& client_;
  const LoopbackPodAddresses& addresses_;
  const KubeletSimOptions options_;
  // Held by the sim's thread for a whole sync (API calls included), so the
  // fault methods act between syncs.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                                 // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Pod>> pods_;  // GUARDED_BY(mu_)
  std::set<std::string> lost_uids_;  // GUARDED_BY(mu_): never restarted
  std::set<std::string> held_;       // GUARDED_BY(mu_): pod names kept down
  std::thread thread_;
};

}  // namespace shardkv::op::testing

#endif  // SHARDKV_OPERATOR_TESTING_KUBELET_SIM_H_
