// Engine: the one RocksDB instance of a replica and its column families.
//
//   raft_log    index (8 bytes big endian) -> raft::Entry
//   raft_state  "hard_state", "log_base" (snapshot meta of the compaction
//               point), "conf_state" (bootstrap membership)
//   data        [KeyPrefix(key), 2 bytes BE][key] -> value record (version,
//               expiry, value); see slots.h
//   sessions    'c' + client id -> last applied sequence and its result;
//               't' + last seen + client id -> "" (expiry index)
//   meta        "applied": index, term, applied clock, conf state and
//               id -> address, in one record (see records.h)
//   slots       slot ownership: config, per-slot state, change sets of
//               exporting slots (see slots.h)
//
// A snapshot install in progress keeps its files in
// <dir>/snapshot-install.tmp until they are ingested.
//
// All column families share one WAL, so a write batch that touches several
// of them is atomic, and a synced write makes every earlier write durable.
//
// Thread-safety: thread-safe (RocksDB is).
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::storage {

enum class Column : uint32_t {
  kRaftLog = 0,
  kRaftState = 1,
  kData = 2,
  kSessions = 3,
  kMeta = 4,
  kSlots = 5,
};

struct EngineOptions {
  // Block cache for the data column family.
  uint64_t block_cache_bytes = 256ull << 20;
  uint64_t write_buffer_bytes = 64ull << 20;
  // Memtable insert hints for the column families of few, often rewritten
  // keys (sessions, raft_state, meta); see engine.cc. Off only to measure.
  bool rewrite_insert_hints = true;
};

class Engine {
 public:
  // Opens (creating if needed) the database under `dir`.
  static StatusOr<std::unique_ptr<Engine>> Open(const std::string& dir,
                                                const EngineOptions& options);
  ~Engine();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Column column) const;
  const std::string& dir() const { return dir_; }

 private:
  Engine() = default;
  std::string dir_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Converts a RocksDB status (disk full, corruption, ...) to ours with a
// clear message naming `what` was being done.
Status FromRocks(const rocksdb::Status& s, const std::string& what);

}  // namespace shardkv::storage
