// Replica administration: membership, leadership transfer, status, and the
// two ends of snapshot streaming.
#include <future>

#include "common/failpoint.h"
#include "common/log.h"
#include "node/server/replica.h"

namespace shardkv::server {
namespace {

// A learner is promoted only when this close to the leader's commit index.
constexpr raft::Index kMaxPromoteLag = 1000;

v1::Role ToRole(raft::Role role, bool learner) {
  if (learner) return v1::ROLE_LEARNER;
  switch (role) {
    case raft::Role::kFollower:
      return v1::ROLE_FOLLOWER;
    case raft::Role::kPreCandidate:
      return v1::ROLE_PRE_CANDIDATE;
    case raft::Role::kCandidate:
      return v1::ROLE_CANDIDATE;
    case raft::Role::kLeader:
      return v1::ROLE_LEADER;
  }
  return v1::ROLE_UNSPECIFIED;
}

bool Contains(const std::vector<raft::NodeId>& ids, raft::NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

void Replica::ChangeMembership(raft::ConfChange change, AdminDone done) {
  auto shared_done = std::make_shared<AdminDone>(std::move(done));
  bool posted = PostTask([this, change, shared_done]() mutable {
    AdminDone& done = *shared_done;
    if (!is_leader_) return done(NotLeaderStatus());
    raft::RaftStatus st = raft_->GetStatus();
    if (change.type == raft::ConfChangeType::kPromote) {
      auto it = st.progress.find(change.node);
      if (it == st.progress.end() || !it->second.learner) {
        return done(FailedPrecondition("node " + std::to_string(change.node) +
                                       " is not a learner"));
      }
      raft::Index commit = st.hard_state.commit;
      if (it->second.match + kMaxPromoteLag < commit) {
        return done(FailedPrecondition(
            "learner " + std::to_string(change.node) + " is " +
            std::to_string(commit - it->second.match) +
            " entries behind; promote it once it has caught up"));
      }
    }
    if (change.type == raft::ConfChangeType::kAddLearner) {
      transport_->SetAddress(change.node, change.context);
    }
    auto pos = raft_->ProposeConfChange(change);
    if (!pos.ok()) return done(pos.status());
    pending_admin_[pos->index] = PendingAdmin{pos->term, std::move(done)};
  });
  if (!posted) (*shared_done)(Unavailable("replica is shutting down"));
}

void Replica::TransferLeadership(raft::NodeId to, AdminDone done) {
  auto shared_done = std::make_shared<AdminDone>(std::move(done));
  bool posted = PostTask([this, to, shared_done]() mutable {
    AdminDone& done = *shared_done;
    if (!is_leader_) return done(NotLeaderStatus());
    raft::RaftStatus st = raft_->GetStatus();
    raft::NodeId target = to;
    if (target == raft::kNoNode) {  // the most caught-up other voter
      raft::Index best = 0;
      for (const auto& [id, pr] : st.progress) {
        if (id == config_.id || pr.learner || pr.match < best) continue;
        best = pr.match;
        target = id;
      }
    }
    if (target == config_.id) return done(Status::Ok());
    if (target == raft::kNoNode || !Contains(st.conf.voters, target)) {
      return done(FailedPrecondition("no voter " + std::to_string(target) +
                                     " to transfer leadership to"));
    }
    Status s = raft_->TransferLeadership(target);
    if (!s.ok()) return done(s);
    SHARDKV_LOG(kInfo) << "transferring leadership to " << target;
    auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(config_.tick_ms * config_.election_ticks * 3);
    pending_transfers_.push_back({target, deadline, std::move(done)});
  });
  if (!posted) (*shared_done)(Unavailable("replica is shutting down"));
}

LeaderHint Replica::Leader() const {
  raft::NodeId id = leader_id_.load();
  if (id == raft::kNoNode) return {};
  return LeaderHint{id, transport_->AddressOf(id)};
}

v1::StatusResponse Replica::GetStatus() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

void Replica::PublishStatusIfDue() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_status_) return;
  next_status_ = now + std::chrono::milliseconds(50);
  PublishStatus();
}

void Replica::PublishStatus() {
  raft::RaftStatus st = raft_->GetStatus();
  v1::StatusResponse out;
  out.set_id(config_.id);
  out.set_address(config_.advertise);
  bool learner = Contains(st.conf.learners, config_.id);
  out.set_role(ToRole(st.soft_state.role, learner));
  out.set_term(st.hard_state.term);
  out.set_leader_id(st.soft_state.leader);
  if (st.soft_state.leader != raft::kNoNode) {
    out.set_leader_address(transport_->AddressOf(st.soft_state.leader));
  }
  out.set_commit_index(st.hard_state.commit);
  out.set_applied_index(applied_);
  out.set_first_log_index(log_->FirstIndex());
  out.set_last_log_index(log_->LastIndex());
  out.set_snapshot_index(log_->Snapshot().index);
  out.set_key_count_estimate(machine_->ApproximateKeys());
  out.set_data_bytes_estimate(machine_->ApproximateBytes());
  auto add = [&](raft::NodeId id, bool is_learner) {
    v1::Member* m = out.add_members();
    m->set_id(id);
    m->set_address(transport_->AddressOf(id));
    m->set_learner(is_learner);
    auto it = st.progress.find(id);
    if (it != st.progress.end()) m->set_match_index(it->second.match);
  };
  for (raft::NodeId id : st.conf.voters) add(id, false);
  for (raft::NodeId id : st.conf.learners) add(id, true);
  out.set_ready(st.soft_state.leader != raft::kNoNode &&
                applied_ + 100 >= st.hard_state.commit);
  out.set_node_role(config_.role == NodeRole::kController ? "controller"
                                                          : "shard");
  out.set_shard_id(config_.shard_id);
  uint32_t owned_slots = 0;
  out.set_slot_epoch(machine_->SlotSummary(&owned_slots).epoch);
  out.set_owned_slots(owned_slots);
  for (const std::string& c : config_.controller_endpoints) {
    out.add_controller_endpoints(c);
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  status_ = std::move(out);
}

std::unique_ptr<storage::SnapshotSink> Replica::BeginSnapshotInstall() {
  return machine_->BeginInstall();
}

Status Replica::FinishSnapshotInstall(
    std::unique_ptr<storage::SnapshotSink> sink, raft::Message message) {
  auto result = std::make_shared<std::promise<Status>>();
  auto future = result->get_future();
  auto shared_sink = std::shared_ptr<storage::SnapshotSink>(std::move(sink));
  bool posted = PostTask([this, shared_sink, message, result] {
    raft::RaftStatus st = raft_->GetStatus();
    if (st.soft_state.role == raft::Role::kLeader ||
        message.term < st.hard_state.term ||
        message.snapshot.index <= st.hard_state.commit) {
      // The core would not take it: keep the state machine as it is.
      result->set_value(FailedPrecondition(
          "snapshot at " + std::to_string(message.snapshot.index) + " (term " +
          std::to_string(message.term) + ") is not acceptable here: role " +
          raft::RoleName(st.soft_state.role) + ", term " +
          std::to_string(st.hard_state.term) + ", commit " +
          std::to_string(st.hard_state.commit)));
      return;
    }
    if (message.snapshot.index <= applied_) {
      result->set_value(FailedPrecondition(
          "snapshot at " + std::to_string(message.snapshot.index) +
          " is not newer than the applied index " + std::to_string(applied_)));
      return;
    }
    storage::AppliedState state;
    state.index = message.snapshot.index;
    state.term = message.snapshot.term;
    state.conf = message.snapshot.conf;
    SHARDKV_FAILPOINT("snapshot.before_install");
    Status s = shared_sink->Finish(state);
    SHARDKV_FAILPOINT("snapshot.after_install");
    if (!s.ok()) {
      result->set_value(s);
      return;
    }
    applied_ = durable_applied_ = message.snapshot.index;
    last_clock_ms_ = std::max(last_clock_ms_, machine_->applied().clock_ms);
    for (const auto& [id, addr] : machine_->applied().addresses) {
      transport_->SetAddress(id, addr);
    }
    Status step = raft_->Step(message);
    if (!step.ok()) {
      SHARDKV_LOG(kWarning) << "stepping the snapshot: " << step.ToString();
    }
    SHARDKV_LOG(kInfo) << "installed snapshot at index "
                       << message.snapshot.index;
    result->set_value(Status::Ok());
  });
  if (!posted) return Unavailable("replica is shutting down");
  if (future.wait_for(std::chrono::minutes(10)) != std::future_status::ready) {
    return Unavailable("timed out installing the snapshot");
  }
  return future.get();
}

bool Replica::WriteSnapshot(
    raft::Message message,
    const std::function<bool(const internal::SnapshotChunk&)>& write) {
  std::unique_ptr<storage::SnapshotSource> source = machine_->OpenSnapshot();
  if (!source) return false;
  const storage::AppliedState& state = source->state();
  message.snapshot = raft::SnapshotMeta{state.index, state.term, state.conf};
  internal::SnapshotChunk header;
  ToProto(message, header.mutable_message());
  if (!write(header)) return false;
  for (;;) {
    internal::SnapshotChunk chunk;
    if (!source->NextChunk(1 << 20, &chunk)) break;
    if (!write(chunk)) return false;
  }
  if (!source->status().ok()) {
    SHARDKV_LOG(kError) << "reading the snapshot image failed: "
                        << source->status().ToString();
    return false;
  }
  internal::SnapshotChunk last;
  last.set_done(true);
  return write(last);
}

}  // namespace shardkv::server
