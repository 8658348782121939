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
// Durability: the state machine's writes (data, sessions, meta, slots)
// skip the WAL (StateMachineWrites()): the Raft log holds every applied
// command, so they are made durable by memtable flushes instead, and
// atomic_flush flushes all column families at one point of the write
// order. After a crash the state machine is therefore exactly as of the
// last flush, applied index included, and is replayed from the log past
// it. Writes that go through the WAL (the `rocksdb` Raft log kind, the
// bootstrap membership) are replayed on open as before.
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

  // Flushes the memtables of all column families together (one atomic
  // flush), making every write so far durable, WAL or not. With `wait`
  // false it only schedules the flush and returns.
  Status FlushAll(bool wait);
  // Memtable flushes completed since Open (any reason: full memtables,
  // FlushAll, ingestion), counted per column family: a change means more
  // may be durable than before.
  uint64_t flushes_completed() const;

 private:
  class FlushCounter;
  Engine() = default;
  std::string dir_;
  std::shared_ptr<FlushCounter> flush_counter_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Options of every state machine write: no WAL (see the top comment).
const rocksdb::WriteOptions& StateMachineWrites();

// Converts a RocksDB status (disk full, corruption, ...) to ours with a
// clear message naming `what` was being done.
Status FromRocks(const rocksdb::Status& s, const std::string& what);

}  // namespace shardkv::storage
