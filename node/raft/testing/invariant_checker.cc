#include "node/raft/testing/invariant_checker.h"

#include <functional>

namespace shardkv::raft::testing {
namespace {

std::string Where(NodeId id, Index index) {
  return "node " + std::to_string(id) + " index " + std::to_string(index);
}

}  // namespace

uint64_t ChainHash(uint64_t prev, const Entry& e) {
  uint64_t h = std::hash<std::string>{}(e.data);
  h ^= e.index * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(e.type);
  return (prev ^ h) * 0x100000001B3ULL + 0x7F4A7C15ULL;
}

std::string InvariantChecker::RecordLeader(NodeId id, Term term) {
  auto [it, inserted] = leaders_.emplace(term, id);
  if (inserted || it->second == id) return "";
  return "election safety: nodes " + std::to_string(it->second) + " and " +
         std::to_string(id) + " both lead term " + std::to_string(term);
}

std::string InvariantChecker::RecordPersisted(NodeId id,
                                              const std::vector<Entry>& entries,
                                              const LogStorage& storage) {
  for (const Entry& e : entries) {
    if (e.index < storage.FirstIndex()) continue;
    StatusOr<Term> prev = storage.TermAt(e.index - 1);
    LogRecord rec{e.data, e.type, prev.ok() ? *prev : 0, prev.ok(), id};
    auto [it, inserted] = logs_.emplace(std::make_pair(e.index, e.term), rec);
    if (inserted) continue;
    LogRecord& seen = it->second;
    if (seen.data != e.data || seen.type != e.type) {
      return "log matching: different entries at " + Where(id, e.index) +
             " term " + std::to_string(e.term) + " (\"" + e.data + "\" vs \"" +
             seen.data + "\" from node " + std::to_string(seen.node) + ")";
    }
    if (seen.prev_known && rec.prev_known && seen.prev_term != rec.prev_term) {
      return "log matching: different prefixes before " + Where(id, e.index) +
             " term " + std::to_string(e.term);
    }
    if (!seen.prev_known && rec.prev_known) seen = rec;
  }
  return "";
}

std::string InvariantChecker::RecordCommitIndex(NodeId id, Index commit) {
  Index& last = commits_[id];
  if (commit < last) {
    return "durable commit: " + Where(id, commit) + " below persisted " +
           std::to_string(last);
  }
  last = commit;
  return "";
}

std::string InvariantChecker::RecordApplied(NodeId id, const Entry& e,
                                            uint64_t hash) {
  auto [it, inserted] = applied_.emplace(e.index, std::make_pair(e.term, hash));
  if (inserted) {
    applied_data_[e.index] = e.data;
    return "";
  }
  if (it->second.first != e.term || applied_data_[e.index] != e.data) {
    return "state machine safety: " + Where(id, e.index) +
           " applied a different entry (term " + std::to_string(e.term) +
           " vs " + std::to_string(it->second.first) + ")";
  }
  if (it->second.second != hash) {
    return "state machine safety: " + Where(id, e.index) +
           " reached a different state";
  }
  return "";
}

std::string InvariantChecker::CheckSnapshotImage(NodeId id, Index index,
                                                 uint64_t hash) {
  auto it = applied_.find(index);
  if (it == applied_.end()) {
    return "snapshot: " + Where(id, index) + " was never applied anywhere";
  }
  if (it->second.second != hash) {
    return "snapshot: " + Where(id, index) + " image differs";
  }
  return "";
}

std::string InvariantChecker::CheckLeaderCompleteness(
    NodeId id, Term term, const LogStorage& storage) {
  auto checked = completeness_checked_.find(id);
  if (checked != completeness_checked_.end() && checked->second == term) {
    return "";
  }
  completeness_checked_[id] = term;
  for (const auto& [index, term_hash] : applied_) {
    if (index < storage.FirstIndex()) continue;
    StatusOr<Term> t = storage.TermAt(index);
    if (!t.ok() || *t != term_hash.first) {
      return "leader completeness: leader of term " + std::to_string(term) +
             " lacks committed " + Where(id, index);
    }
  }
  return "";
}

std::string InvariantChecker::CheckDurableCommit(
    NodeId leader, Term term, Index commit,
    const std::vector<const LogStorage*>& voter_logs) {
  auto [it, inserted] =
      inherited_commit_.emplace(leader, std::make_pair(term, commit));
  if (!inserted && it->second.first != term) {
    it->second = {term, commit};
    inserted = true;
  }
  if (inserted || commit <= it->second.second) return "";
  ++durable_commits_checked_;
  size_t durable = 0;
  for (const LogStorage* log : voter_logs) {
    if (log == nullptr) continue;
    if (log->Snapshot().index >= commit) {
      ++durable;
      continue;
    }
    StatusOr<Term> t = log->TermAt(commit);
    if (t.ok() && *t == term) ++durable;
  }
  // Check each advance once, against the membership that made it (a later
  // conf change may shrink or grow the voters).
  it->second.second = commit;
  if (durable >= voter_logs.size() / 2 + 1) return "";
  return "durable quorum: leader " + std::to_string(leader) + " of term " +
         std::to_string(term) + " committed index " + std::to_string(commit) +
         " durable on only " + std::to_string(durable) + " of " +
         std::to_string(voter_logs.size()) + " voters";
}

void InvariantChecker::RecordReadRequest(const std::string& context) {
  read_floors_[context] = max_applied();
}

std::string InvariantChecker::RecordReadState(const std::string& context,
                                              Index index) {
  auto it = read_floors_.find(context);
  if (it == read_floors_.end()) return "read " + context + " never requested";
  ++reads_checked_;
  if (index < it->second) {
    return "linearizable reads: read " + context + " at index " +
           std::to_string(index) + " but " + std::to_string(it->second) +
           " was already committed";
  }
  return "";
}

}  // namespace shardkv::raft::testing
