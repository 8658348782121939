// EntryTailCache: the newest Raft log entries kept in memory by both log
// stores (raft_log_store.h, segment_log_store.h), so appends to followers
// rarely read the disk.
//
// Invariant: `entries` is contiguous by index. Bounded by max_entries and
// max_bytes (data sizes), oldest dropped first.
// Thread-safety: none; the owning store guards it with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "node/raft/types.h"

namespace shardkv::storage {

struct EntryTailCache {
  std::deque<raft::Entry> entries;
  uint64_t bytes = 0;
  size_t max_entries = 4096;
  uint64_t max_bytes = 64ull << 20;

  // Appends (the caller truncated first), then evicts to the bounds.
  void Append(std::span<const raft::Entry> appended) {
    for (const auto& e : appended) {
      bytes += e.data.size();
      entries.push_back(e);
    }
    Evict();
  }
  // Drops entries at or after `index`; whatever is left must end right
  // before it to stay contiguous, else the cache is emptied.
  void TruncateFrom(raft::Index index) {
    while (!entries.empty() && entries.back().index >= index) PopBack();
    if (!entries.empty() && entries.back().index + 1 != index) Clear();
  }
  // Drops entries at or before `upto` (compaction).
  void DropUpTo(raft::Index upto) {
    while (!entries.empty() && entries.front().index <= upto) PopFront();
  }
  void Evict() {
    while (!entries.empty() &&
           (entries.size() > max_entries || bytes > max_bytes)) {
      PopFront();
    }
  }
  void Clear() {
    entries.clear();
    bytes = 0;
  }

 private:
  void PopFront() {
    bytes -= entries.front().data.size();
    entries.pop_front();
  }
  void PopBack() {
    bytes -= entries.back().data.size();
    entries.pop_back();
  }
};

}  // namespace shardkv::storage
