// InvariantChecker: the Raft safety properties [Figure 3], checked by the
// simulation after every step. Each Record*/Check* call returns the first
// violation found as a message ("" when all is well).
//
//   election safety      at most one leader per term;
//   log matching         same (index, term) => same entry and same previous
//                        term, over every node's persisted log;
//   leader completeness  a new leader's log holds every committed entry;
//   state machine safety no two nodes apply different entries at an index;
//   durable commit       a node's persisted commit index never decreases;
//   durable quorum       an entry a leader committed (by counting, in its
//                        term) is durable on a quorum of its voters;
//   linearizable reads   a ReadIndex result is >= every index applied
//                        anywhere before the read was requested.
//
// Thread-safety: not thread-safe; test-only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace shardkv::raft::testing {

class InvariantChecker {
 public:
  std::string RecordLeader(NodeId id, Term term);
  // `storage` is the node's log after persisting `entries`.
  std::string RecordPersisted(NodeId id, const std::vector<Entry>& entries,
                              const LogStorage& storage);
  std::string RecordCommitIndex(NodeId id, Index commit);
  // A node applied `e` (committed) on top of `prev_hash`, yielding `hash`.
  std::string RecordApplied(NodeId id, const Entry& e, uint64_t hash);
  // A snapshot image applied at `index` must match the applied history.
  std::string CheckSnapshotImage(NodeId id, Index index, uint64_t hash);
  // Called once per step for each leader: its log holds every committed
  // entry not covered by its snapshot.
  std::string CheckLeaderCompleteness(NodeId id, Term term,
                                      const LogStorage& storage);

  // `leader`'s commit index in `term` is `commit`; `voter_logs` are the
  // persisted logs of its voters (nullptr: unknown node). Checked when the
  // commit index moved since the last call for this leader and term (the
  // first call in a term records the inherited commit index). Call before
  // applying a conf change that the leader might commit under.
  std::string CheckDurableCommit(
      NodeId leader, Term term, Index commit,
      const std::vector<const LogStorage*>& voter_logs);

  // ReadIndex: `context` was requested when max_applied() was the floor.
  void RecordReadRequest(const std::string& context);
  std::string RecordReadState(const std::string& context, Index index);

  Index max_applied() const {
    return applied_.empty() ? 0 : applied_.rbegin()->first;
  }
  // Term and hash of the entry applied at `index` (by any node).
  const std::map<Index, std::pair<Term, uint64_t>>& applied() const {
    return applied_;
  }
  size_t leaders() const { return leaders_.size(); }
  uint64_t reads_checked() const { return reads_checked_; }
  uint64_t durable_commits_checked() const { return durable_commits_checked_; }

 private:
  struct LogRecord {
    std::string data;
    EntryType type;
    Term prev_term;
    bool prev_known;
    NodeId node;  // first recorded by
  };
  std::map<Term, NodeId> leaders_;
  std::map<std::pair<Index, Term>, LogRecord> logs_;
  std::map<NodeId, Index> commits_;
  // index -> (term, state machine hash after applying it)
  std::map<Index, std::pair<Term, uint64_t>> applied_;
  std::map<Index, std::string> applied_data_;
  std::map<std::string, Index> read_floors_;
  uint64_t reads_checked_ = 0;
  // (node, term) pairs whose completeness was already checked.
  std::map<NodeId, Term> completeness_checked_;
  // leader -> (term, commit index last checked in that term).
  std::map<NodeId, std::pair<Term, Index>> inherited_commit_;
  uint64_t durable_commits_checked_ = 0;
};

// Hash chain of a state machine that applies entries in order.
uint64_t ChainHash(uint64_t prev, const Entry& e);

}  // namespace shardkv::raft::testing
