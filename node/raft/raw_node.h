// RawNode: the Raft core as a pure state machine (etcd/raft's shape).
//
// No I/O, threads, clocks or locks. The caller drives it:
//   - Tick() at a fixed interval (the election and heartbeat timeouts are
//     counted in ticks);
//   - Step() each message received from a peer;
//   - Propose*/ReadIndex/TransferLeadership for client work;
//   - Ready handling, in one of two modes (Config::async_storage_writes).
//
// Classic mode (default): while HasReady(): rd = GetReady(), then in order:
//   1. persist rd.hard_state and rd.entries (and install rd.snapshot) in
//      one durable write (fsync) -- group commit: one write per Ready;
//   2. send rd.messages;
//   3. apply rd.committed_entries (ApplyConfChange for kConfChange) and
//      serve rd.read_states once applied >= their index;
//   4. Advance(rd).
//
// Asynchronous storage writes (async_storage_writes = true; etcd raft v3.6
// AsyncStorageWrites, thesis §10.2.1): persistence leaves the raft thread.
// While HasReady(): rd = GetReady(), then, without waiting for the disk:
//   1. hand {rd.snapshot, rd.entries, rd.hard_state,
//      rd.messages_after_persist, rd.persist} to the log writer, in Ready
//      order: every Ready with any of them, even one with nothing to
//      write (its messages_after_persist still wait for the earlier
//      writes); a Ready with none of them may skip the writer;
//   2. send rd.messages at once;
//   3. apply rd.committed_entries (ApplyConfChange for kConfChange); they
//      never go beyond the locally durable log;
//   4. serve rd.read_states once applied >= their index;
//   5. Advance(rd). GetReady may be called again right away: several
//      Readys may be in flight to the writer.
// The writer performs the writes in the order handed over (it may group
// several Readys' writes into one fsync). Once a Ready's write and every
// earlier one are durable:
//   6. send that Ready's messages_after_persist (acknowledgements and votes
//      that must not reveal state before it is on disk);
//   7. call OnPersisted(rd.persist) on the raft thread, in Ready order.
//      Marks are cumulative: after a group commit it is enough to pass the
//      last Ready's mark. Then check HasReady() again: persistence can
//      commit entries (the leader counts its own log only up to what is
//      durable) or complete an election (a candidate counts its own vote
//      only once its term and vote are durable).
// A crash loses what was not yet durable, including the held-back
// messages_after_persist: nothing acknowledged was lost. Entries may be
// applied before the hard state recording their commit is durable: on
// restart pass the state machine's applied index as Config::applied (it
// may exceed HardState::commit).
// Snapshots in async mode: the core hands out no committed entries while
// a received snapshot is not yet durable, so a writer may install it in
// order like any write. The simplest correct caller keeps it synchronous:
// on a Ready with rd.snapshot, wait until every earlier write is durable
// (their steps 6-7 done), install the snapshot and persist this Ready's
// write on the raft thread, then do steps 6-7 for it, then 2-5.
// LogStorage reads: the core reads the storage only below the entries it
// still holds in memory (not yet reported by OnPersisted), which the
// writer does not modify; the storage must tolerate those reads
// concurrently with the writer's appends.
//
// Implements (Ongaro's thesis section numbers in brackets): leader election
// with randomized timeouts [3.4], PreVote [9.6] and CheckQuorum [6.2],
// pipelined and batched AppendEntries with per-follower flow control [10.2],
// the leader writing its log in parallel with replication [10.2.1],
// snapshots and log compaction [5], single-server membership changes through
// learners [4.1-4.2], leadership transfer [3.10], ReadIndex [6.4].
//
// Thread-safety: not thread-safe; one owner thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace shardkv::raft {

struct Config {
  NodeId id = kNoNode;
  // Ticks without hearing from a leader before campaigning; the actual
  // timeout is randomized in [election_tick, 2 * election_tick).
  int election_tick = 10;
  int heartbeat_tick = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Upper bound of the entries' bytes in one kAppend message.
  uint64_t max_bytes_per_append = 1 << 20;
  // Flow control: kAppend messages in flight to one follower.
  int max_inflight_appends = 256;
  // Proposals are refused (kResourceExhausted) beyond this many bytes of
  // uncommitted entries at the leader.
  uint64_t max_uncommitted_bytes = 64 << 20;
  // Upper bound of the committed entries' bytes in one Ready (at least one
  // entry is always handed out).
  uint64_t max_committed_bytes_per_ready = 16 << 20;
  // Last index the caller has already applied (restart from a data dir).
  // In async mode it may exceed the persisted HardState::commit (entries
  // are applied once durable locally, maybe before the hard state that
  // records their commit is): entries up to it count as committed.
  Index applied = 0;
  // Seed of the deterministic generator for election timeouts.
  uint64_t random_seed = 1;
  // Ready persistence off the raft thread; see the top comment.
  bool async_storage_writes = false;
  // For leader leases on reads (LeaseView): refuse other candidates'
  // (pre-)votes during the first election_tick ticks after start, as if a
  // leader had just been heard. A leader may hold a lease on an
  // acknowledgement this replica gave before it crashed and restarted;
  // without this, the restarted replica could help elect a new leader
  // while that lease still runs. Needs check_quorum.
  bool refuse_votes_after_start = false;
};

enum class Role : uint8_t {
  kFollower = 0,
  kPreCandidate = 1,
  kCandidate = 2,
  kLeader = 3,
};

const char* RoleName(Role role);

// Volatile state that changes rarely; reported in Ready when it changes.
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;

  bool operator==(const SoftState&) const = default;
};

// A completed ReadIndex request: once the applied index reaches `index`,
// a read for `context` is linearizable.
struct ReadState {
  Index index = 0;
  std::string context;
};

// Async mode: identifies how far the log writer got. Cumulative: passing
// the mark of Ready n to OnPersisted means Readys 1..n are durable.
struct PersistMark {
  // Number of the Ready (increasing from 1).
  uint64_t ready = 0;
  // The last log entry handed out for persistence so far (by this Ready or
  // an earlier one). OnPersisted compares the term too: an entry replaced
  // by a new leader's since hand-out is not marked durable by this mark.
  Index index = 0;
  Term term = 0;
  // The last snapshot handed out so far (0: none).
  Index snapshot_index = 0;

  bool operator==(const PersistMark&) const = default;
};

struct Ready {
  std::optional<SoftState> soft_state;
  // Persist if present (together with `entries`, atomically, durably).
  std::optional<HardState> hard_state;
  // Append to the log, replacing any existing entries from entries[0].index.
  std::vector<Entry> entries;
  // Received from the leader (kSnapshot) and accepted: the caller has the
  // data already (streamed before the message was stepped); make it the
  // log's base: discard the log up to meta.index, persist the meta.
  std::optional<SnapshotMeta> snapshot;
  // Committed and ready to apply, in order. Contiguous with what was
  // handed out before.
  std::vector<Entry> committed_entries;
  // Classic mode: send after the entries and hard state are durable.
  // Async mode: send at once (the leader's kAppend, kHeartbeat, kSnapshot,
  // kTimeoutNow; candidates' kVote/kPreVote; kPreVoteResponse and
  // kHeartbeatResponse, which acknowledge no persisted state).
  std::vector<Message> messages;
  // Async mode only: send once this Ready's write (and every earlier one)
  // is durable. kAppendResponse (acknowledges entries or a snapshot, whose
  // loss after a crash would break the leader's quorum count [§3.8]) and
  // kVoteResponse (a vote must be durable before it is cast, or a
  // restarted voter could vote twice in a term [§3.8]).
  std::vector<Message> messages_after_persist;
  std::vector<ReadState> read_states;
  // Async mode: pass to OnPersisted once this Ready's write is durable.
  PersistMark persist;
};

// Replication state of one follower, as seen by the leader.
struct Progress {
  Index match = 0;
  Index next = 0;
  enum class State : uint8_t {
    kProbe,
    kReplicate,
    kSnapshot
  } state = State::kProbe;
  bool learner = false;
  bool recent_active = false;
};

struct RaftStatus {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  Index applied = 0;
  Index last_index = 0;
  ConfState conf;
  // Filled on the leader only.
  std::map<NodeId, Progress> progress;
  NodeId lead_transferee = kNoNode;
  // True while a membership change is proposed but not yet applied.
  bool pending_conf_change = false;
};

// What a leader needs to answer reads under a lease [thesis §6.4.1]; the
// caller keeps the clock. A ReadIndex round that started at time t proves
// that no other leader can be elected before t plus the voters' election
// timeout: each acknowledging voter refuses votes for election_tick ticks
// after hearing from us (InLease). The lease stays valid only while
// `term` and `handovers` are unchanged and `leader_ready` holds: a
// kTimeoutNow lets its target win at once, voters' leases notwithstanding.
struct LeaseView {
  Term term = 0;
  // Leader with an entry of its term committed (ReadIndex would succeed).
  bool leader_ready = false;
  // The commit index now: a read served under the lease waits for it.
  Index committed = 0;
  // kTimeoutNow messages this replica has sent, ever.
  uint64_t handovers = 0;
};

// Position of a proposed entry; if the entry committed at `index` has a
// different term, the proposal was lost (a new leader overwrote it).
struct LogPosition {
  Term term = 0;
  Index index = 0;
};

class RawNode {
 public:
  // `storage` must outlive the RawNode and hold what was persisted before
  // (empty for a new replica). A brand-new group is bootstrapped by the
  // caller persisting a ConfState with the initial voters before creating
  // the RawNode (InitialConfState); a replica joining an existing group
  // starts with an empty ConfState and learns it from the leader.
  // Bootstrapping writes the initial membership into the log: the first
  // Ready of a new group's replica holds committed kConfChange entries of
  // term 1 at indexes 1..n (kPromote per initial voter, kAddLearner per
  // initial learner, sorted by id); applying them is a no-op
  // (ApplyConfChange), but a replica added later learns the membership
  // from them.
  RawNode(const Config& config, const LogStorage* storage);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  void Tick();
  // Starts an election now (kPreVote first when pre_vote is on).
  void Campaign();
  // Feeds a message from a peer. Messages from unknown or stale senders are
  // ignored, never fatal.
  Status Step(const Message& message);

  // Leader only; otherwise kFailedPrecondition. Appends all `data` as
  // consecutive kNormal entries in one go (one broadcast) and returns the
  // position of each. kResourceExhausted beyond max_uncommitted_bytes.
  StatusOr<std::vector<LogPosition>> Propose(std::vector<std::string> data);
  // Leader only. kFailedPrecondition while another change is pending
  // (proposed and not applied), for an invalid change (promote of a
  // non-learner, add of an existing member, removing the last voter) or
  // during a leadership transfer.
  StatusOr<LogPosition> ProposeConfChange(const ConfChange& change);
  // Call when applying a committed kConfChange entry; returns the new state.
  ConfState ApplyConfChange(const ConfChange& change);

  // Leader only. The ReadState with this context appears in a later Ready
  // once a quorum confirmed leadership (requests are batched per heartbeat
  // round). Fails on a leader that has not committed an entry of its term.
  Status ReadIndex(std::string context);
  // Leader only; `to` must be a voter. Sends kTimeoutNow once `to` is
  // caught up; proposals are refused meanwhile. Aborts after an election
  // timeout.
  Status TransferLeadership(NodeId to);

  // The transport failed to deliver to `id`: fall back to probing.
  void ReportUnreachable(NodeId id);
  // The server finished (or failed) streaming a snapshot to `id`.
  void ReportSnapshot(NodeId id, bool success);

  bool HasReady() const;
  Ready GetReady();
  // REQUIRES: `ready` was the last GetReady() and has been handled (in
  // async mode: handed to the writer, not necessarily durable).
  void Advance(const Ready& ready);
  // Async mode only: the writes of every Ready up to `mark.ready` are
  // durable. REQUIRES: marks in non-decreasing Ready order; a mark from
  // before a restart (another RawNode) is never passed.
  void OnPersisted(const PersistMark& mark);

  RaftStatus GetStatus() const;
  // Cheap (no allocation): read once per loop iteration.
  LeaseView GetLeaseView() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardkv::raft
