// RaftLog: the core's view of the log = persisted LogStorage + an in-memory
// unstable tail (entries and possibly a snapshot not yet persisted by the
// caller), plus the commit and apply cursors.
//
// Invariants:
//   applied <= applying <= committed <= LastIndex();
//   unstable entries start at unstable_offset_; those up to persisting_to_
//   were handed out for persistence (async mode: possibly not durable yet),
//   unstable_offset_ - 1 <= persisting_to_ <= LastIndex(); if an unstable
//   snapshot is present, unstable_offset_ == snapshot.index + 1 and storage
//   is ignored below it. Storage is read only below unstable_offset_, so a
//   writer thread may append at or above it meanwhile (async mode). Entries in
//   storage at or above unstable_offset_ are shadowed (they are stale: the
//   caller will overwrite them with the unstable ones).
//
// Thread-safety: not thread-safe; owned by Raft.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.h"
#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace shardkv::raft {

class RaftLog {
 public:
  // Starts from what `storage` persisted; `applied` is the caller's applied
  // index (clamped to [snapshot index, commit]; entries up to it, if in the
  // log, count as committed even above the persisted commit index).
  RaftLog(const LogStorage* storage, Index applied);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index applying() const { return applying_; }

  // kOutOfRange below FirstIndex()-1 (compacted), kUnavailable past the end.
  StatusOr<Term> TermAt(Index i) const;
  // TermAt, or 0 when unknown (only for logging and comparisons).
  Term TermOrZero(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  // Candidate's log at least as up-to-date as ours [§3.6.1].
  bool IsUpToDate(Index last_index, Term last_term) const;

  // Entries [lo, hi), at least one if lo < hi, bounded by max_bytes.
  Status Slice(Index lo, Index hi, uint64_t max_bytes,
               std::vector<Entry>* out) const;

  // AppendEntries receiver rules 2-5 [Figure 2]: returns the index of the
  // last new entry, or nullopt when the log does not contain an entry at
  // prev_index with prev_term.
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term,
                                   Index leader_commit,
                                   const std::vector<Entry>& entries);
  // Appends to the unstable tail, truncating conflicts.
  // REQUIRES: entries[0].index > committed().
  void Append(const std::vector<Entry>& entries);
  // First entry whose term differs from ours (or is new), 0 if none.
  Index FindConflict(const std::vector<Entry>& entries) const;
  // Largest index <= index whose term is <= term (fast backtracking).
  Index FindConflictByTerm(Index index, Term term) const;

  void CommitTo(Index index);
  // Commits `index` if it has term `term` (leaders commit only entries of
  // their own term by counting [§3.6.2, Figure 8]).
  bool MaybeCommit(Index index, Term term);

  // Makes a received snapshot the log's base (not persisted yet).
  void Restore(const SnapshotMeta& meta);

  // Ready support.
  const std::vector<Entry>& UnstableEntries() const { return unstable_; }
  const std::optional<SnapshotMeta>& UnstableSnapshot() const {
    return unstable_snapshot_;
  }
  // Unstable entries and snapshot not yet handed out for persistence.
  bool HasEntriesToPersist() const;
  std::vector<Entry> EntriesToPersist() const;
  std::optional<SnapshotMeta> SnapshotToPersist() const;
  // Everything unstable was handed out for persistence (GetReady).
  void MarkPersisting();
  // Last index of the durable prefix of the log (0 while a received
  // snapshot is not durable yet).
  Index DurableIndex() const;
  // Async mode: never hand out for applying an entry not durable here.
  void set_apply_only_durable(bool only) { apply_only_durable_ = only; }
  bool HasNextCommittedEntries() const;
  // Committed entries after applying(), up to max_bytes (at least one).
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  void ApplyingTo(Index index);
  void AppliedTo(Index index);
  // The caller persisted entries up to (index, term) / the snapshot. An
  // entry replaced since hand-out (different term) stays unstable.
  void StableTo(Index index, Term term);
  void StableSnapshotTo(Index index);

 private:
  const LogStorage* storage_;
  std::optional<SnapshotMeta> unstable_snapshot_;
  std::vector<Entry> unstable_;
  Index unstable_offset_ = 1;
  Index persisting_to_ = 0;
  bool snapshot_persisting_ = false;
  bool apply_only_durable_ = false;
  Index committed_ = 0;
  Index applying_ = 0;
  Index applied_ = 0;

  // Last committed index that may be handed out for applying.
  Index ApplyLimit() const;
};

}  // namespace shardkv::raft
