#include "node/storage/engine.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "common/log.h"

namespace shardkv::storage {
namespace {

// Column family names, indexed by Column.
const char* const kColumnNames[] = {"raft_log", "raft_state", "data",
                                    "sessions", "meta",       "slots"};
constexpr size_t kColumnCount = sizeof(kColumnNames) / sizeof(kColumnNames[0]);

rocksdb::CompressionType BestCompression() {
  for (auto type : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    for (auto supported : rocksdb::GetSupportedCompressions()) {
      if (supported == type) return type;
    }
  }
  return rocksdb::kNoCompression;
}

// RocksDB's warnings and errors go to our log (stderr), not to a LOG file
// on the data disk: that file would fail first when the disk is full, and
// RocksDB's logger does not survive failed writes well.
class RocksLogger : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    int n = std::vsnprintf(line, sizeof(line), format, ap);
    if (n < 0) return;
    size_t size = std::min(static_cast<size_t>(n), sizeof(line) - 1);
    while (size > 0 && line[size - 1] == '\n') line[--size] = '\0';
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      SHARDKV_LOG(kError) << "rocksdb: " << line;
    } else {
      SHARDKV_LOG(kWarning) << "rocksdb: " << line;
    }
  }
};

rocksdb::DBOptions MakeDbOptions() {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // Two cores: one flush and one compaction at a time is plenty.
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  // The raft log is written (and soon deleted) all the time; bounding the
  // WAL forces its memtable to flush instead of pinning old WAL files.
  o.max_total_wal_size = 256ull << 20;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.info_log = std::make_shared<RocksLogger>();
  // The state machine's writes skip the WAL, so what survives a crash is
  // the last flush: all column families must be flushed at one point,
  // or `data` could hold effects that the flushed `applied` record does
  // not cover (replayed twice) or miss some that it does.
  o.atomic_flush = true;
  return o;
}

// Short-lived, append-then-delete data read mostly from our own cache:
// no compression, a small private block cache, no bloom filter (reads are
// range scans by index).
rocksdb::ColumnFamilyOptions RaftLogOptions(const EngineOptions& options) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = options.write_buffer_bytes;
  o.max_write_buffer_number = 3;
  o.compression = rocksdb::kNoCompression;
  o.compaction_style = rocksdb::kCompactionStyleLevel;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(8 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// Point lookups by user key: shared LRU block cache and bloom filters.
rocksdb::ColumnFamilyOptions DataOptions(
    const std::shared_ptr<rocksdb::Cache>& cache, uint64_t write_buffer_bytes) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = write_buffer_bytes;
  o.compaction_style = rocksdb::kCompactionStyleLevel;
  o.level_compaction_dynamic_level_bytes = true;
  o.compression = BestCompression();
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.block_size = 16 << 10;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// For column families of few keys rewritten all the time (a session per
// client, per write; "applied", per apply batch). Every write inserts a
// new skiplist entry right before the key's previous one; without a hint
// RocksDB searches the memtable's skiplist from the top (~17 levels at
// 100k entries, a cache miss each): the largest item of the raft loop's
// profile once apply stopped reading records (docs/benchmarks.md). The
// hint keeps, per key (its first 32 bytes), where it was last inserted,
// so a rewrite costs a few comparisons. Memtable-only: reads, iterators,
// filters and files are unchanged (unlike prefix_extractor). It costs
// ~250 bytes of memtable per distinct key, which is why the data column
// family, with a distinct key per write, does not use it.
// Never on a column family that takes DeleteRange (data, slots, raft_log):
// RocksDB 7.8's MemTable::Add looks hints up in one map for the point and
// the range-deletion skiplists, so a splice of one is used to insert into
// the other (InlineSkipList::Insert assertion; docs/storage.md).
std::shared_ptr<const rocksdb::SliceTransform> RewriteHints() {
  static const std::shared_ptr<const rocksdb::SliceTransform> hints(
      rocksdb::NewCappedPrefixTransform(32));
  return hints;
}

}  // namespace

class Engine::FlushCounter : public rocksdb::EventListener {
 public:
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
    completed_.fetch_add(1, std::memory_order_release);
  }
  uint64_t completed() const {
    return completed_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<uint64_t> completed_{0};
};

const rocksdb::WriteOptions& StateMachineWrites() {
  static const rocksdb::WriteOptions options = [] {
    rocksdb::WriteOptions o;
    o.disableWAL = true;
    return o;
  }();
  return options;
}

StatusOr<std::unique_ptr<Engine>> Engine::Open(const std::string& dir,
                                               const EngineOptions& options) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (size_t i = 0; i < kColumnCount; ++i) {
    rocksdb::ColumnFamilyOptions cf;
    switch (static_cast<Column>(i)) {
      case Column::kRaftLog:
        cf = RaftLogOptions(options);
        break;
      case Column::kData:
        cf = DataOptions(cache, options.write_buffer_bytes);
        break;
      case Column::kSessions:
      case Column::kRaftState:
      case Column::kMeta:
        cf = DataOptions(cache, 8 << 20);
        if (options.rewrite_insert_hints) {
          cf.memtable_insert_with_hint_prefix_extractor = RewriteHints();
        }
        break;
      default:  // small: slots (change sets: a distinct key per write)
        cf = DataOptions(cache, 8 << 20);
        break;
    }
    families.emplace_back(kColumnNames[i], cf);
  }
  // The default column family is required by RocksDB but unused.
  families.emplace_back(rocksdb::kDefaultColumnFamilyName,
                        rocksdb::ColumnFamilyOptions());

  // Creating the directory first spares RocksDB an error line about it.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("creating " + dir + ": " + ec.message());
  std::unique_ptr<Engine> engine(new Engine());
  engine->dir_ = dir;
  engine->flush_counter_ = std::make_shared<FlushCounter>();
  rocksdb::DBOptions db_options = MakeDbOptions();
  db_options.listeners.push_back(engine->flush_counter_);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, families, &engine->handles_, &db);
  if (!s.ok()) return FromRocks(s, "opening the database in " + dir);
  engine->db_.reset(db);
  return engine;
}

Engine::~Engine() {
  if (!db_) return;
  for (auto* handle : handles_) {
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(handle);
    if (!s.ok())
      SHARDKV_LOG(kWarning) << "closing column family: " << s.ToString();
  }
  rocksdb::Status s = db_->Close();
  if (!s.ok())
    SHARDKV_LOG(kWarning) << "closing " << dir_ << ": " << s.ToString();
  db_.reset();
}

rocksdb::ColumnFamilyHandle* Engine::cf(Column column) const {
  return handles_[static_cast<size_t>(column)];
}

Status Engine::FlushAll(bool wait) {
  rocksdb::FlushOptions options;
  options.wait = wait;
  // Not waiting must not mean blocking until an earlier flush frees a
  // memtable slot either; a write stall while it runs is rare and short.
  options.allow_write_stall = !wait;
  return FromRocks(db_->Flush(options, handles_), "flushing the memtables");
}

uint64_t Engine::flushes_completed() const {
  return flush_counter_->completed();
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  const std::string detail = what + ": " + s.ToString();
  if (s.IsNoSpace() ||
      s.ToString().find("No space left on device") != std::string::npos) {
    return ResourceExhausted("disk full while " + detail);
  }
  if (s.IsCorruption()) return DataLoss("corrupt data while " + detail);
  if (s.IsIOError()) return Unavailable("I/O error while " + detail);
  if (s.IsNotFound()) return NotFound(detail);
  if (s.IsInvalidArgument()) return InvalidArgument(detail);
  if (s.IsNotSupported()) return Status(Code::kUnimplemented, detail);
  if (s.IsAborted()) return Status(Code::kAborted, detail);
  if (s.IsTimedOut()) return Status(Code::kDeadlineExceeded, detail);
  if (s.IsBusy() || s.IsTryAgain() || s.IsShutdownInProgress() ||
      s.IsIncomplete()) {
    return Unavailable(detail);
  }
  return Internal(detail);
}

}  // namespace shardkv::storage
