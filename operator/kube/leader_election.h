// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it, so
// that of several operator replicas exactly one reconciles.
//
// Expiry is judged on this process's own clock: a lease counts as expired
// when its record (holder, renewTime, transitions) has not changed for
// leaseDurationSeconds since this elector first saw it. Clocks of other
// machines never matter, and a fresh process waits one full lease duration
// before taking over a lease someone else held. Every write is a PUT with the
// resourceVersion read, so two candidates cannot both win one round.
//
// A leader that fails to renew for `renew_deadline` stops leading (it calls
// on_stopped_leading before its lease can expire for others, given
// renew_deadline < lease_duration).
//
// Thread-safety: TryAcquireOrRenew is for one thread (the elector's own, or a
// test's); Start/Stop from the owner; IsLeader from any thread. Callbacks run
// on the elector's thread ("leader-elect").
#ifndef SHARDKV_OPERATOR_KUBE_LEADER_ELECTION_H_
#define SHARDKV_OPERATOR_KUBE_LEADER_ELECTION_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "operator/kube/client.h"

namespace shardkv::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. the pod name
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::milliseconds retry_period{2000};
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
};

class LeaderElector {
 public:
  using Clock = std::chrono::steady_clock;

  LeaderElector(KubeClient* client, LeaderElectionConfig config);
  ~LeaderElector();  // Stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One round at local time `now`: create the Lease if absent, renew it if
  // ours, take it over if expired. OK(true) when we hold it afterwards.
  StatusOr<bool> TryAcquireOrRenew(Clock::time_point now);

  // Runs rounds every retry_period on an owned thread, calling the callbacks
  // on transitions.
  void Start();
  // Stops the rounds; a leader releases the lease (holder cleared) so a
  // standby takes over at once rather than after the lease duration.
  void Stop();
  bool IsLeader() const { return leader_.load(); }

 private:
  void Run();
  Status Release();

  KubeClient* const client_;
  const LeaderElectionConfig config_;
  const std::string path_;

  // Last record seen and when it was first seen (TryAcquireOrRenew's thread).
  std::string observed_record_;
  Clock::time_point observed_at_{};
  Clock::time_point last_renew_{};

  std::atomic<bool> leader_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_LEADER_ELECTION_H_
