// The Ready handler: persist -> send -> apply -> answer waiters -> Advance.
#include <cstdlib>
#include <span>

#include "common/log.h"
#include "node/server/errors.h"
#include "node/server/replica.h"

namespace shardkv::server {

Status Replica::NotLeaderStatus() const {
  raft::NodeId lead = leader_id_.load();
  std::string addr = lead == raft::kNoNode ? "" : transport_->AddressOf(lead);
  return Unavailable(NotLeaderMessage(lead, addr));
}

void Replica::HandleReady() {
  while (raft_->HasReady()) {
    raft::Ready rd = raft_->GetReady();
    if (rd.soft_state) UpdateSoftState(*rd.soft_state);
    if (writer_) {
      HandleReadyAsync(rd);
    } else {
      HandleReadyInline(rd);
    }
    for (const raft::ReadState& rs : rd.read_states) {
      auto it = read_batches_.find(rs.context);
      if (it == read_batches_.end()) continue;
      it->second.index = rs.index;
      ExtendLease(it->second);
    }
    ReleaseReads();
    raft_->Advance(rd);
  }
}

void Replica::InstallReadySnapshot(const raft::SnapshotMeta& meta) {
  // The state machine took the image before the core accepted it
  // (FinishSnapshotInstall); now the log restarts after it. The image is
  // ingested (synced) files; the flush covers the state machine's other
  // writes so the log never starts after what a power loss would keep.
  Status s = SyncStateMachine();
  if (s.ok()) s = log_->ApplySnapshot(meta);
  if (!s.ok()) Fatal("rebasing the log on a snapshot", s);
  applied_ = std::max(applied_, meta.index);
  for (const auto& [id, addr] : machine_->applied().addresses) {
    transport_->SetAddress(id, addr);
  }
}

void Replica::HandleReadyAsync(raft::Ready& rd) {
  if (rd.snapshot) {
    // Rare: do it synchronously, after every earlier write is durable.
    writer_->Drain();
    ConsumePersistedMark();
    InstallReadySnapshot(*rd.snapshot);
    if (rd.hard_state || !rd.entries.empty()) {
      Status s = log_->Save(rd.hard_state, rd.entries, /*sync=*/true);
      if (!s.ok()) Fatal("persisting the Raft log", s);
    }
    if (!rd.messages_after_persist.empty()) {
      transport_->Send(std::move(rd.messages_after_persist));
    }
    raft_->OnPersisted(rd.persist);
  } else if (rd.hard_state || !rd.entries.empty() ||
             !rd.messages_after_persist.empty()) {
    writer_->Submit(LogWriter::Write{rd.hard_state, std::move(rd.entries),
                                     std::move(rd.messages_after_persist),
                                     rd.persist});
  }
  if (!rd.messages.empty()) transport_->Send(std::move(rd.messages));
  // The core hands out only entries durable in the local log.
  ApplyCommitted(rd.committed_entries);
}

void Replica::HandleReadyInline(raft::Ready& rd) {
  if (rd.snapshot) InstallReadySnapshot(*rd.snapshot);
  // A leader may send its appends while it writes them itself (thesis
  // 10.2.1): the entries commit once a quorum has them durably, and the
  // leader acknowledges nothing before its own write below completes.
  // Everyone else must persist before answering.
  // Only messages that acknowledge nothing go early (a Ready of a node
  // that just stepped down may also carry responses).
  if (is_leader_) {
    std::vector<raft::Message> early;
    std::vector<raft::Message> after;
    for (raft::Message& m : rd.messages) {
      bool leader_message = m.type == raft::MessageType::kAppend ||
                            m.type == raft::MessageType::kHeartbeat ||
                            m.type == raft::MessageType::kTimeoutNow;
      (leader_message ? early : after).push_back(std::move(m));
    }
    rd.messages = std::move(after);
    if (!early.empty()) transport_->Send(std::move(early));
  }
  // Committed entries already in the durable log can be applied (and
  // their writers answered) before this Ready's fsync. Entries this Ready
  // rewrites are not durable in their new form yet.
  raft::Index durable_last = log_->LastIndex();
  if (!rd.entries.empty()) {
    durable_last = std::min(durable_last, rd.entries.front().index - 1);
  }
  std::span<const raft::Entry> committed(rd.committed_entries);
  size_t durable_count = 0;
  while (durable_count < committed.size() &&
         committed[durable_count].index <= durable_last) {
    ++durable_count;
  }
  ApplyCommitted(committed.first(durable_count));
  if (rd.hard_state || !rd.entries.empty()) {
    Status s = log_->Save(rd.hard_state, rd.entries, /*sync=*/true);
    if (!s.ok()) Fatal("persisting the Raft log", s);
  }
  if (!rd.messages.empty()) transport_->Send(std::move(rd.messages));
  ApplyCommitted(committed.subspan(durable_count));
}

Status Replica::SyncStateMachine() {
  // State machine writes skip RocksDB's WAL: a flush makes them durable.
  return engine_->FlushAll(/*wait=*/true);
}

void Replica::Fatal(const std::string& what, const Status& status) {
  // Continuing without a durable log could acknowledge writes that a crash
  // would lose. Stop instead; the data dir stays consistent and the
  // replica resumes from it once the cause (e.g. a full disk) is fixed.
  SHARDKV_LOG(kError) << "FATAL: " << what << " failed: " << status.ToString()
                      << " -- stopping this replica to protect the data";
  std::_Exit(3);
}

void Replica::ApplyCommitted(std::span<const raft::Entry> entries) {
  std::vector<raft::Entry> normal;
  auto flush = [&] {
    if (normal.empty()) return;
    std::vector<std::vector<storage::ApplyResult>> results;
    Status s = machine_->ApplyEntries(normal, &results);
    if (!s.ok()) Fatal("applying committed entries", s);
    for (size_t i = 0; i < normal.size(); ++i) {
      CompleteWrites(normal[i], i < results.size() ? &results[i] : nullptr);
    }
    applied_ = normal.back().index;
    normal.clear();
  };
  for (const raft::Entry& e : entries) {
    if (e.index <= applied_) continue;  // already in the state machine
    if (e.type == raft::EntryType::kConfChange) {
      flush();
      ApplyConfChangeEntry(e);
      applied_ = e.index;
    } else {
      normal.push_back(e);
    }
  }
  flush();
}

void Replica::CompleteWrites(const raft::Entry& entry,
                             const std::vector<storage::ApplyResult>* results) {
  auto it = pending_writes_.find(entry.index);
  if (it == pending_writes_.end()) return;
  PendingWrite pending = std::move(it->second);
  pending_writes_.erase(it);
  if (pending.term != entry.term) {
    // Another leader's entry took this index: ours was never committed.
    Status s = Unavailable(
        "leadership changed before the write committed; "
        "it was not applied, retry");
    for (auto& done : pending.done) done(s, {});
    return;
  }
  std::vector<storage::ApplyResult> outcomes;
  if (results != nullptr) outcomes = *results;
  answers_.push_back(
      [dones = std::move(pending.done), outcomes = std::move(outcomes)] {
        for (size_t k = 0; k < dones.size(); ++k) {
          if (k >= outcomes.size()) {
            dones[k](Internal("no apply result for the write"), {});
          } else {
            dones[k](outcomes[k].status, outcomes[k]);
          }
        }
      });
}

void Replica::ApplyConfChangeEntry(const raft::Entry& entry) {
  auto change = raft::ConfChange::Decode(entry.data);
  if (!change) Fatal("decoding a membership change", DataLoss(""));
  raft::ConfState conf = raft_->ApplyConfChange(*change);
  Status s = machine_->ApplyConfChange(entry, *change, conf);
  if (!s.ok()) Fatal("recording a membership change", s);
  if (change->type == raft::ConfChangeType::kRemove) {
    transport_->RemovePeer(change->node);
  } else if (!change->context.empty()) {
    transport_->SetAddress(change->node, change->context);
  }
  SHARDKV_LOG(kInfo) << "membership change applied at " << entry.index
                     << ": node " << change->node << " "
                     << (change->type == raft::ConfChangeType::kAddLearner
                             ? "added as learner"
                         : change->type == raft::ConfChangeType::kPromote
                             ? "promoted to voter"
                             : "removed");
  auto it = pending_admin_.find(entry.index);
  if (it == pending_admin_.end()) return;
  AdminDone done = std::move(it->second.done);
  bool ours = it->second.term == entry.term;
  pending_admin_.erase(it);
  // The answer lists the members (from the published status): publish now
  // so that it includes this change rather than the previous membership.
  PublishStatus();
  done(ours ? Status::Ok()
            : Unavailable("leadership changed; the change was not applied"));
}

void Replica::ReleaseReads() {
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    if (it->second.index == 0 || it->second.index > applied_) {
      ++it;
      continue;
    }
    answers_.push_back([gates = std::move(it->second.gates)] {
      for (const ReadGate& gate : gates) gate(Status::Ok());
    });
    it = read_batches_.erase(it);
  }
}

void Replica::FlushAnswers() {
  if (!answers_.empty()) responder_->Post(&answers_);
}

void Replica::FailAllPending(const Status& status) {
  for (auto& [index, pending] : pending_writes_) {
    for (auto& done : pending.done) done(status, {});
  }
  pending_writes_.clear();
  for (auto& [index, pending] : pending_admin_) pending.done(status);
  pending_admin_.clear();
  for (auto& [ctx, batch] : read_batches_) {
    for (auto& gate : batch.gates) gate(status);
  }
  read_batches_.clear();
  for (auto& gate : reads_waiting_leader_) gate(status);
  reads_waiting_leader_.clear();
}

void Replica::UpdateSoftState(const raft::SoftState& soft) {
  bool was_leader = is_leader_.load();
  bool leader_now = soft.role == raft::Role::kLeader;
  leader_id_ = soft.leader;
  is_leader_ = leader_now;
  if (was_leader != leader_now || soft.leader != last_logged_leader_) {
    SHARDKV_LOG(kInfo) << "role " << raft::RoleName(soft.role) << ", leader "
                       << soft.leader;
    last_logged_leader_ = soft.leader;
  }
  if (was_leader && !leader_now) {
    // Writes in flight may still commit under the next leader: their
    // outcome is unknown. Clients retry with the same request id.
    FailAllPending(NotLeaderStatus());
  }
  for (auto it = pending_transfers_.begin(); it != pending_transfers_.end();) {
    if (soft.leader == it->target) {
      it->done(Status::Ok());
      it = pending_transfers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Replica::Maintenance() {
  MaybeCompact();
  auto reclaimed = machine_->ReclaimExpired(10000);
  if (reclaimed.ok() && *reclaimed > 0) {
    SHARDKV_LOG(kDebug) << "reclaimed " << *reclaimed << " expired keys";
  }
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending_transfers_.begin(); it != pending_transfers_.end();) {
    if (now < it->deadline) {
      ++it;
      continue;
    }
    it->done(Unavailable("leadership transfer to " +
                         std::to_string(it->target) +
                         " did not complete in time"));
    it = pending_transfers_.erase(it);
  }
}

void Replica::MaybeCompact() {
  raft::Index first = log_->FirstIndex();
  const raft::Index due =
      first + config_.log_retain_entries + config_.compact_every_entries;
  if (applied_ < due) return;
  if (durable_applied_ < due) RefreshDurableApplied(due);
  if (durable_applied_ < due) return;
  raft::Index upto = durable_applied_ - config_.log_retain_entries;
  Status s = log_->Compact(upto);
  if (!s.ok()) {
    SHARDKV_LOG(kWarning) << "log compaction failed: " << s.ToString();
    return;
  }
  SHARDKV_LOG(kInfo) << "compacted the log up to " << upto;
}

void Replica::RefreshDurableApplied(raft::Index due) {
  // Only a completed flush can make more of the state machine durable;
  // RocksDB flushes on its own as memtables fill.
  const uint64_t flushes = engine_->flushes_completed();
  if (flushes != flushes_seen_) {
    flushes_seen_ = flushes;
    auto durable = machine_->DurableApplied();
    if (!durable.ok()) {
      SHARDKV_LOG(kWarning)
          << "log compaction skipped: " << durable.status().ToString();
      return;
    }
    durable_applied_ = std::max(durable_applied_, *durable);
  }
  // Memtables that take long to fill would let the log grow without
  // bound: once another compact_every_entries were applied, ask for a
  // flush (in the background: the raft loop does not wait for it) and
  // pick its result up at a later call.
  if (durable_applied_ >= due || flushes == flush_requested_at_ ||
      applied_ < due + config_.compact_every_entries) {
    return;
  }
  flush_requested_at_ = flushes;
  Status s = engine_->FlushAll(/*wait=*/false);
  if (!s.ok()) {
    SHARDKV_LOG(kWarning) << "flushing for log compaction: " << s.ToString();
  }
}

}  // namespace shardkv::server
