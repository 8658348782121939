// Terms, roles, elections [§3.3-3.4], PreVote [§9.6], CheckQuorum and the
// leader lease that makes followers ignore disruptive candidates [§6.2].
#include "node/raft/raft.h"

#include <algorithm>

#include "common/log.h"

namespace shardkv::raft {

Raft::Raft(const Config& config, const LogStorage* storage)
    : config_(config),
      async_(config.async_storage_writes),
      storage_(storage),
      log_(storage, config.applied),
      tracker_(static_cast<size_t>(std::max(1, config.max_inflight_appends))),
      random_state_(config.random_seed * 0x9E3779B97F4A7C15ULL + config.id),
      start_quiet_ticks_(config.refuse_votes_after_start ? config.election_tick
                                                         : 0) {
  log_.set_apply_only_durable(async_);
  HardState hs = storage->InitialHardState();
  term_ = hs.term;
  vote_ = hs.vote;
  tracker_.Reset(storage->InitialConfState(), log_.LastIndex());
  BecomeFollower(term_, kNoNode);
  MaybeBootstrap();
}

// A brand-new group: the initial membership exists only as the persisted
// ConfState, which a replica added later would never see. Like etcd, write
// it into the log as committed conf changes of term 1 (identical on every
// initial member, so their logs match), so the log alone describes the
// membership from index 1 on.
void Raft::MaybeBootstrap() {
  ConfState conf = storage_->InitialConfState();
  if (term_ != 0 || log_.LastIndex() != 0 || conf.voters.empty()) return;
  std::sort(conf.voters.begin(), conf.voters.end());
  std::sort(conf.learners.begin(), conf.learners.end());
  std::vector<Entry> entries;
  auto add = [&](ConfChangeType type, NodeId id) {
    ConfChange cc{type, id, ""};
    entries.push_back(
        Entry{1, entries.size() + 1, EntryType::kConfChange, cc.Encode()});
  };
  for (NodeId id : conf.voters) add(ConfChangeType::kPromote, id);
  for (NodeId id : conf.learners) add(ConfChangeType::kAddLearner, id);
  BecomeFollower(1, kNoNode);
  log_.Append(entries);
  log_.CommitTo(entries.size());
  tracker_.ResetProgress(log_.LastIndex(), config_.id);
}

uint64_t Raft::NextRandom() {
  // splitmix64: deterministic, seeded from Config::random_seed.
  uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void Raft::ResetRandomizedElectionTimeout() {
  int base = std::max(1, config_.election_tick);
  randomized_election_timeout_ =
      base + static_cast<int>(NextRandom() % static_cast<uint64_t>(base));
}

void Raft::Send(Message m) {
  m.from = config_.id;
  // Pre-vote messages carry the future term they ask about; everything
  // else our current term.
  if (m.type != MessageType::kPreVote &&
      m.type != MessageType::kPreVoteResponse &&
      m.type != MessageType::kVoteResponse) {
    m.term = term_;
  }
  // Async mode: an acknowledgement of entries or a snapshot, and a vote,
  // must not leave before the state they vouch for is durable [§3.8].
  // Everything else reveals nothing that a crash could take back: the
  // leader's messages (its term and vote are durable, see
  // awaiting_self_vote_; its own entries may be written in parallel,
  // §10.2.1), vote requests, pre-vote responses (advisory: the real vote
  // checks again) and heartbeat responses (they only confirm the leader).
  bool after_persist = m.type == MessageType::kAppendResponse ||
                       m.type == MessageType::kVoteResponse;
  if (async_ && after_persist) {
    messages_after_persist_.push_back(std::move(m));
  } else {
    messages_.push_back(std::move(m));
  }
}

void Raft::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  tracker_.ResetVotes();
  tracker_.ResetProgress(log_.LastIndex(), config_.id);
  if (async_) {
    PeerProgress* self = tracker_.Get(config_.id);
    if (self != nullptr) self->match = log_.DurableIndex();
  }
  awaiting_self_vote_ = false;
  read_only_.Reset();
  pending_conf_index_ = 0;
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  // Neither the term nor the vote change: a pre-election is harmless.
  tracker_.ResetVotes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
  election_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
}

void Raft::BecomeCandidate() {
  Reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  Reset(term_);
  lead_ = config_.id;
  role_ = Role::kLeader;
  for (auto& [id, pr] : tracker_.all()) pr.recent_active = true;
  // Entries before the election may hold an unapplied conf change; wait
  // for them before accepting a new one.
  pending_conf_index_ = log_.LastIndex();
  // A no-op of the new term lets earlier entries commit [§3.6.2].
  AppendEntries({Entry{term_, 0, EntryType::kNormal, ""}});
  SHARDKV_LOG(kDebug) << "raft " << config_.id << " became leader at term "
                      << term_;
}

bool Raft::Promotable() const { return tracker_.IsVoter(config_.id); }

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  std::vector<Entry> entries;
  Status st = log_.Slice(log_.applied() + 1, log_.committed() + 1, UINT64_MAX,
                         &entries);
  if (!st.ok()) return true;  // cannot tell: be conservative
  return std::any_of(entries.begin(), entries.end(), [](const Entry& e) {
    return e.type == EntryType::kConfChange;
  });
}

void Raft::Campaign(bool transfer) {
  if (role_ == Role::kLeader || !Promotable() || HasUnappliedConfChange() ||
      log_.UnstableSnapshot().has_value()) {
    return;
  }
  if (config_.pre_vote && !transfer) {
    BecomePreCandidate();
    StartElection(MessageType::kPreVote, false);
  } else {
    BecomeCandidate();
    StartElection(MessageType::kVote, transfer);
  }
}

void Raft::StartElection(MessageType type, bool transfer) {
  bool pre = type == MessageType::kPreVote;
  if (async_ && !pre) {
    // Our vote counts once durable (OnPersisted).
    awaiting_self_vote_ = true;
    self_vote_term_ = term_;
    self_vote_ready_ = 0;
  } else {
    tracker_.RecordVote(config_.id, true);
  }
  if (tracker_.TallyVotes() == VoteResult::kWon) {
    // Single voter: no one to ask.
    if (pre) {
      BecomeCandidate();
      StartElection(MessageType::kVote, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (const auto& [id, pr] : tracker_.all()) {
    if (id == config_.id || pr.learner) continue;
    Message m;
    m.type = type;
    m.to = id;
    m.term = pre ? term_ + 1 : term_;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    if (transfer) m.context = kTransferCampaign;
    Send(std::move(m));
  }
}

bool Raft::InLease() const {
  if (!config_.check_quorum) return false;
  if (start_quiet_ticks_ > 0) return true;
  return lead_ != kNoNode && election_elapsed_ < config_.election_tick;
}

LeaseView Raft::GetLeaseView() const {
  bool ready = role_ == Role::kLeader &&
               log_.TermOrZero(log_.committed()) == term_ && Promotable();
  return LeaseView{term_, ready, log_.committed(), handovers_};
}

// Term rules of Figure 2 ("if RPC request or response contains term T >
// currentTerm: set currentTerm = T, convert to follower"), refined by
// PreVote and the leader lease.
bool Raft::StepTerm(const Message& m) {
  bool vote_request =
      m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    bool forced =
        m.type == MessageType::kVote && m.context == kTransferCampaign;
    // We heard from a live leader recently: do not let a partitioned node
    // with a higher term disrupt it [§4.2.3].
    if (vote_request && !forced && InLease()) return false;
    if (m.type == MessageType::kPreVote) return true;
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;
    bool from_leader = m.type == MessageType::kAppend ||
                       m.type == MessageType::kHeartbeat ||
                       m.type == MessageType::kSnapshot;
    BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    return true;
  }
  if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A stale leader (e.g. after a partition) that cannot learn our term
      // from votes, which pre-vote suppresses: tell it.
      Message resp;
      resp.type = MessageType::kAppendResponse;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResponse;
      resp.to = m.from;
      resp.term = term_;
      resp.reject = true;
      Send(std::move(resp));
    }
    return false;
  }
  return true;
}

Status Raft::Step(const Message& m) {
  if (!StepTerm(m)) return Status::Ok();
  switch (m.type) {
    case MessageType::kVote:
    case MessageType::kPreVote:
      HandleVoteRequest(m);
      return Status::Ok();
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
  return Status::Ok();
}

// RequestVote receiver rules [Figure 2, §3.6.1].
void Raft::HandleVoteRequest(const Message& m) {
  bool pre = m.type == MessageType::kPreVote;
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  resp.to = m.from;
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (pre && m.term > term_);
  if (!can_vote || !log_.IsUpToDate(m.index, m.log_term)) {
    resp.term = term_;
    resp.reject = true;
    Send(std::move(resp));
    return;
  }
  // The response carries the requested term so a pre-candidate can match
  // it with its pre-election.
  resp.term = m.term;
  if (!pre) {
    election_elapsed_ = 0;
    vote_ = m.from;
  }
  Send(std::move(resp));
}

void Raft::StepCandidate(const Message& m) {
  MessageType my_response = role_ == Role::kPreCandidate
                                ? MessageType::kPreVoteResponse
                                : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // A leader of our term exists [§3.4].
      BecomeFollower(m.term, m.from);
      StepFollower(m);
      return;
    default:
      break;
  }
  if (m.type != my_response) return;
  tracker_.RecordVote(m.from, !m.reject);
  TallyAndAct();
}

void Raft::TallyAndAct() {
  switch (tracker_.TallyVotes()) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        BecomeCandidate();
        StartElection(MessageType::kVote, false);
      } else if (!awaiting_self_vote_) {
        BecomeLeader();
      }
      return;
    case VoteResult::kLost:
      BecomeFollower(term_, kNoNode);
      return;
    case VoteResult::kPending:
      return;
  }
}

void Raft::Tick() {
  if (start_quiet_ticks_ > 0) --start_quiet_ticks_;
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (!Promotable() || election_elapsed_ < randomized_election_timeout_) {
    return;
  }
  election_elapsed_ = 0;
  Campaign(false);
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_tick) {
    election_elapsed_ = 0;
    // CheckQuorum [§6.2]: a leader that cannot reach a quorum steps down so
    // clients can find the real one.
    if (config_.check_quorum && !tracker_.QuorumActive(config_.id)) {
      BecomeFollower(term_, kNoNode);
      return;
    }
    for (auto& [id, pr] : tracker_.all()) {
      if (id != config_.id) pr.recent_active = false;
    }
  }
  if (lead_transferee_ != kNoNode &&
      ++transfer_elapsed_ >= config_.election_tick) {
    AbortLeaderTransfer();  // the target did not take over in time
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

void Raft::HandedOut(uint64_t ready) {
  // The first Ready after BecomeCandidate carries the new term and vote.
  if (awaiting_self_vote_ && self_vote_ready_ == 0) self_vote_ready_ = ready;
}

void Raft::OnPersisted(const PersistMark& mark) {
  if (mark.snapshot_index != 0) log_.StableSnapshotTo(mark.snapshot_index);
  if (mark.index != 0) log_.StableTo(mark.index, mark.term);
  if (awaiting_self_vote_ && self_vote_ready_ != 0 &&
      mark.ready >= self_vote_ready_ && role_ == Role::kCandidate &&
      term_ == self_vote_term_ && vote_ == config_.id) {
    awaiting_self_vote_ = false;
    tracker_.RecordVote(config_.id, true);
    TallyAndAct();
  }
  if (role_ == Role::kLeader) UpdateSelfMatch();
}

RaftStatus Raft::GetStatus() const {
  RaftStatus s;
  s.id = config_.id;
  s.hard_state = hard_state();
  s.soft_state = soft_state();
  s.applied = log_.applied();
  s.last_index = log_.LastIndex();
  s.conf = tracker_.Conf();
  if (role_ == Role::kLeader) {
    for (const auto& [id, pr] : tracker_.all()) {
      s.progress.emplace(id, pr.ToPublic());
    }
  }
  s.lead_transferee = lead_transferee_;
  s.pending_conf_change = pending_conf_index_ > log_.applied();
  return s;
}

}  // namespace shardkv::raft
