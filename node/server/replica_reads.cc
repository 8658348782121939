// Linearizable reads: under the leader's lease, or by a ReadIndex round.
//
// ReadIndex [Raft thesis 6.4]: a heartbeat round to a quorum proves that
// this replica was still the leader when the round was requested; the read
// then waits until the applied index reaches the commit index of that
// moment. Every batch of reads costs a round trip and a message to and
// from every follower.
//
// The lease [6.4.1] saves that round for most reads. A voter that
// acknowledged the round refuses other candidates' votes until an election
// timeout after it heard from us (Raft::InLease; a restarted voter, which
// forgot that, refuses votes for its first election timeout:
// Config::refuse_votes_after_start). So no other leader can exist before
// requested + lease_duration_ (ReadLeaseDuration: the voters' timeout,
// less a tick of slack and 10 % for clock rates), and a read checked
// before then may read at the current commit index without asking anyone.
// The lease ends early when the term changes or this replica sends
// kTimeoutNow (its target may win at once, ignoring the voters' leases):
// the core's LeaseView shows both.
//
// What it assumes: the replicas' clocks advance at rates within 10 % of
// each other (the boot clock, so a suspended leader's lease runs out
// while it sleeps). --read-lease=off answers every batch by a round.
//
// Raft-loop thread only.
#include "common/clock.h"
#include "node/server/replica.h"

namespace shardkv::server {

bool Replica::LeaseHolds(const raft::LeaseView& view,
                         std::chrono::nanoseconds now) const {
  return lease_duration_.count() > 0 && view.leader_ready &&
         view.term == lease_.term && view.handovers == lease_.handovers &&
         now < lease_.until;
}

void Replica::ExtendLease(const ReadBatch& batch) {
  if (lease_duration_.count() == 0 || batch.term == 0) return;
  raft::LeaseView view = raft_->GetLeaseView();
  if (!view.leader_ready || view.term != batch.term ||
      view.handovers != batch.handovers) {
    return;
  }
  std::chrono::nanoseconds until = batch.requested + lease_duration_;
  if (lease_.term != view.term || lease_.handovers != view.handovers ||
      until > lease_.until) {
    lease_ = ReadLease{until, view.term, view.handovers};
  }
}

void Replica::StartReadIndex(std::vector<ReadGate>* reads) {
  for (auto& gate : reads_waiting_leader_) reads->push_back(std::move(gate));
  reads_waiting_leader_.clear();
  if (reads->empty()) return;
  if (!is_leader_) {
    Status s = NotLeaderStatus();
    for (auto& gate : *reads) gate(s);
    reads->clear();
    return;
  }
  raft::LeaseView view = raft_->GetLeaseView();
  std::chrono::nanoseconds now = BootClockNow();
  if (!LeaseHolds(view, now)) {
    RequestReadIndex(view, reads);
    return;
  }
  // Under the lease: read at today's commit index.
  if (view.committed <= applied_) {
    answers_.push_back([gates = std::move(*reads)] {
      for (const ReadGate& gate : gates) gate(Status::Ok());
    });
  } else {
    read_batches_["lease-" + std::to_string(next_read_context_++)] =
        ReadBatch{view.committed, std::move(*reads)};
  }
  reads->clear();
  // Renew in the background once half the lease is gone, so a steady
  // stream of reads never waits for a round.
  if (lease_.until - now < lease_duration_ / 2 &&
      !read_batches_.contains(lease_renewal_)) {
    std::vector<ReadGate> none;
    RequestReadIndex(view, &none);
  }
}

void Replica::RequestReadIndex(const raft::LeaseView& view,
                               std::vector<ReadGate>* reads) {
  std::string context = std::to_string(next_read_context_++);
  std::chrono::nanoseconds requested = BootClockNow();
  Status s = raft_->ReadIndex(context);
  if (!s.ok()) {
    // A new leader cannot serve reads before committing in its term; the
    // no-op it appended commits within a round trip. Retry next iteration.
    for (auto& gate : *reads) reads_waiting_leader_.push_back(std::move(gate));
    reads->clear();
    return;
  }
  if (reads->empty()) lease_renewal_ = context;
  read_batches_[context] =
      ReadBatch{0, std::move(*reads), requested, view.term, view.handovers};
  reads->clear();
}

}  // namespace shardkv::server
