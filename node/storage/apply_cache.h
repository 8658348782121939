// ApplyCache: what applying a write reads on every command -- the client's
// de-duplication session and the key's current version and expiry -- kept
// in memory, so the apply path does not look them up in RocksDB's memtable
// skiplists (two point lookups per write on every replica, a third of the
// raft loop's CPU in the 2026-11-21 profile, docs/benchmarks.md).
//
// It is a cache of the committed state, never a source of truth: every
// entry is exactly what a read of the sessions or data column family would
// return at the applied index (including "absent"), so replicas that cache
// different keys still apply identically. Invariants kept by its users:
//   - Applier stages what it reads and writes in an Overlay and publishes
//     it only after its RocksDB write succeeded (a failed apply leaves the
//     cache as it was).
//   - Anything that writes the data or sessions column families outside a
//     Set/Delete/session update (slot commands: import, drop, merge of
//     sessions; snapshot install; Load) clears the whole cache.
//   - ReclaimExpired erases the keys it deletes.
// Bounded: beyond the limits, an arbitrary entry is evicted per insert
// (the next read of it goes to RocksDB again).
//
// Thread-safety: not thread-safe; used under StateMachineCore::write_mu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "node/storage/records.h"

namespace shardkv::storage {

// A key's record as far as applying needs it (not its value).
struct CachedRecord {
  bool exists = false;  // a record is stored (maybe expired)
  uint64_t version = 0;
  int64_t expire_at_ms = 0;

  bool LiveAt(int64_t clock_ms) const {
    return exists && !(expire_at_ms != 0 && expire_at_ms <= clock_ms);
  }
};

class ApplyCache {
 public:
  // Staged reads and writes of one apply batch. An empty optional
  // session means "no session stored".
  struct Overlay {
    std::unordered_map<std::string, CachedRecord> records;
    std::unordered_map<uint64_t, std::optional<Session>> sessions;
  };

  explicit ApplyCache(size_t max_records = ApplyCacheDefaults::kMaxRecords,
                      size_t max_sessions = ApplyCacheDefaults::kMaxSessions)
      : max_records_(max_records), max_sessions_(max_sessions) {}

  // nullptr when not cached.
  const CachedRecord* FindRecord(const std::string& data_key) const;
  const std::optional<Session>* FindSession(uint64_t client_id) const;

  void Publish(Overlay&& overlay);
  void EraseRecord(const std::string& data_key) { records_.erase(data_key); }
  void Clear();

  size_t record_count() const { return records_.size(); }
  size_t session_count() const { return sessions_.size(); }

 private:
  const size_t max_records_;
  const size_t max_sessions_;
  std::unordered_map<std::string, CachedRecord> records_;
  std::unordered_map<uint64_t, std::optional<Session>> sessions_;
};

}  // namespace shardkv::storage
