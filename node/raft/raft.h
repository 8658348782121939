// Raft: the protocol state machine behind RawNode. Handlers follow the
// rules of Figure 2 and Ongaro's thesis; each rejection is one early return.
//
// Files: raft.cc (terms, roles, elections, ticks, votes),
// raft_leader.cc (replication, commit, proposals, membership, transfer,
// ReadIndex), raft_follower.cc (receiving appends, heartbeats, snapshots).
//
// Outputs are buffered (messages_, messages_after_persist_, read_states_)
// and drained by RawNode into a Ready. Nothing here does I/O.
//
// Async storage writes (Config::async_storage_writes): the leader's own
// progress counts only the durable log (OnPersisted), and a candidate
// counts its own vote, and may win, only once its term and vote are
// durable: a leader whose term could be forgotten in a crash could, after
// a restart, win the same term again and write different entries at the
// same (index, term) as its first incarnation [§3.8].
//
// Thread-safety: not thread-safe; owned by RawNode.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "node/raft/log_storage.h"
#include "node/raft/progress.h"
#include "node/raft/raft_log.h"
#include "node/raft/raw_node.h"
#include "node/raft/read_only.h"
#include "node/raft/types.h"

namespace shardkv::raft {

// Context of a kVote sent after kTimeoutNow: voters ignore their leader
// lease for it [§3.10].
inline constexpr char kTransferCampaign[] = "transfer";

class Raft {
 public:
  Raft(const Config& config, const LogStorage* storage);

  void Tick();
  void Campaign(bool transfer);
  Status Step(const Message& m);
  StatusOr<std::vector<LogPosition>> Propose(std::vector<std::string> data);
  StatusOr<LogPosition> ProposeConfChange(const ConfChange& change);
  ConfState ApplyConfChange(const ConfChange& change);
  Status ReadIndex(std::string context);
  Status TransferLeadership(NodeId to);
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool success);

  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {lead_, role_}; }
  std::vector<Message> TakeMessages() { return std::exchange(messages_, {}); }
  std::vector<Message> TakeMessagesAfterPersist() {
    return std::exchange(messages_after_persist_, {});
  }
  bool HasMessages() const {
    return !messages_.empty() || !messages_after_persist_.empty();
  }
  std::vector<ReadState> TakeReadStates() {
    return std::exchange(read_states_, {});
  }
  bool HasReadStates() const { return !read_states_.empty(); }
  const Config& config() const { return config_; }
  RaftStatus GetStatus() const;
  LeaseView GetLeaseView() const;
  // The caller applied entries up to `index` (Advance).
  void AppliedTo(Index index) { log_.AppliedTo(index); }
  // Async mode: Ready number `ready` was handed out (GetReady).
  void HandedOut(uint64_t ready);
  // Async mode: RawNode::OnPersisted.
  void OnPersisted(const PersistMark& mark);

 private:
  // raft.cc: roles and elections.
  void MaybeBootstrap();
  void Reset(Term term);
  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartElection(MessageType type, bool transfer);
  bool Promotable() const;
  bool HasUnappliedConfChange() const;
  bool InLease() const;
  bool StepTerm(const Message& m);  // false: message dropped
  void HandleVoteRequest(const Message& m);
  void StepCandidate(const Message& m);
  void TallyAndAct();
  void TickElection();
  void TickHeartbeat();
  void ResetRandomizedElectionTimeout();
  uint64_t NextRandom();
  void Send(Message m);

  // raft_leader.cc: replication and client requests.
  void StepLeader(const Message& m);
  void HandleAppendResponse(const Message& m, PeerProgress* pr);
  void HandleHeartbeatResponse(const Message& m, PeerProgress* pr);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, PeerProgress* pr);
  void SendHeartbeat(NodeId to, const std::string& context);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  void SendTimeoutNow(NodeId to);
  void StartReadRound();
  bool MaybeCommit();
  void AppendEntries(std::vector<Entry> entries);
  // Async mode: the leader's own match follows its durable log.
  void UpdateSelfMatch();
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  Status CheckCanPropose() const;
  Status ValidateConfChange(const ConfChange& change) const;

  // raft_follower.cc: the receiver side.
  void StepFollower(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  bool Restore(const SnapshotMeta& meta);

  Config config_;
  const bool async_;
  const LogStorage* storage_;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  NodeId lead_transferee_ = kNoNode;
  // Index of the last proposed conf change; pending while > applied.
  Index pending_conf_index_ = 0;
  // Leader: (index, bytes) of its uncommitted proposals.
  std::deque<std::pair<Index, uint64_t>> uncommitted_;
  uint64_t uncommitted_bytes_ = 0;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  // Ticks since the transfer started or since kTimeoutNow was last sent.
  int transfer_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t random_state_;
  // Config::refuse_votes_after_start: ticks left of the quiet period.
  int start_quiet_ticks_ = 0;
  uint64_t handovers_ = 0;  // kTimeoutNow messages sent

  // Async mode: a candidate's vote for itself in self_vote_term_ counts once
  // Ready number self_vote_ready_ (which carries it) is durable.
  bool awaiting_self_vote_ = false;
  Term self_vote_term_ = 0;
  uint64_t self_vote_ready_ = 0;  // 0: not handed out yet

  std::vector<Message> messages_;
  std::vector<Message> messages_after_persist_;  // async mode only
  std::vector<ReadState> read_states_;
};

}  // namespace shardkv::raft
