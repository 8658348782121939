// Snapshot streaming (SnapshotSource) and crash-safe installation
// (SnapshotSink) of the state machine's data, sessions and slots column
// families (slot states and change sets travel with the data).
//
// Install: pairs go into one SST file per column family in a temporary
// directory; Finish() adds to each file a range tombstone over the keys
// the column family holds now, writes the applied state into one more file,
// and ingests all of them with one atomic DB::IngestExternalFiles (a single
// MANIFEST record): after a crash either the old or the new image is there.
// Tombstones and points of one ingested file share one sequence number, and
// a tombstone only hides older entries, so the new pairs survive it.
//
// The last chunk carries the source's applied state (column kMeta, key
// "applied"), so the receiver gets the applied clock and member addresses
// even when the caller's Finish() state only has index/term/conf.
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "common/log.h"
#include "node/storage/records.h"
#include "node/storage/state_machine_core.h"

namespace shardkv::storage {
namespace {

constexpr Column kImageColumns[] = {Column::kData, Column::kSessions,
                                    Column::kSlots};

class RocksSnapshotSource : public SnapshotSource {
 public:
  explicit RocksSnapshotSource(Engine* engine)
      : engine_(engine), snapshot_(engine->db()->GetSnapshot()) {
    rocksdb::ReadOptions ro = ReadOptions();
    std::string value;
    rocksdb::Status s =
        engine_->db()->Get(ro, engine_->cf(Column::kMeta), kAppliedKey, &value);
    if (s.ok()) {
      if (!DecodeAppliedState(value, &state_)) {
        status_ = DataLoss("corrupt applied state in snapshot");
      }
      applied_record_ = std::move(value);
    } else if (!s.IsNotFound()) {
      status_ = FromRocks(s, "reading the applied state of a snapshot");
    }
  }

  ~RocksSnapshotSource() override {
    iterator_.reset();
    engine_->db()->ReleaseSnapshot(snapshot_);
  }

  const AppliedState& state() const override { return state_; }
  Status status() const override { return status_; }

  bool NextChunk(uint64_t max_bytes, internal::SnapshotChunk* chunk) override {
    chunk->clear_keys();
    chunk->clear_values();
    while (status_.ok() && column_ < std::size(kImageColumns)) {
      const Column column = kImageColumns[column_];
      if (!iterator_) {
        iterator_.reset(
            engine_->db()->NewIterator(ReadOptions(), engine_->cf(column)));
        iterator_->SeekToFirst();
      }
      uint64_t bytes = 0;
      for (; iterator_->Valid() && bytes < max_bytes; iterator_->Next()) {
        chunk->add_keys(iterator_->key().ToString());
        chunk->add_values(iterator_->value().ToString());
        bytes += iterator_->key().size() + iterator_->value().size();
      }
      if (!iterator_->status().ok()) {
        status_ = FromRocks(iterator_->status(), "reading a snapshot");
        return false;
      }
      if (chunk->keys_size() > 0) {
        chunk->set_column_family(static_cast<uint32_t>(column));
        return true;
      }
      iterator_.reset();
      ++column_;
    }
    if (status_.ok() && !applied_record_.empty()) {
      chunk->set_column_family(static_cast<uint32_t>(Column::kMeta));
      chunk->add_keys(kAppliedKey);
      chunk->add_values(std::move(applied_record_));
      applied_record_.clear();
      return true;
    }
    return false;
  }

 private:
  rocksdb::ReadOptions ReadOptions() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    ro.fill_cache = false;
    return ro;
  }

  Engine* const engine_;
  const rocksdb::Snapshot* const snapshot_;
  AppliedState state_;
  std::string applied_record_;  // sent last, then cleared
  Status status_;
  size_t column_ = 0;
  std::unique_ptr<rocksdb::Iterator> iterator_;
};

class IngestingSnapshotSink : public SnapshotSink {
 public:
  explicit IngestingSnapshotSink(StateMachineCore* core)
      : core_(core), dir_(InstallDir(*core->engine)) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (!ec) std::filesystem::create_directories(dir_, ec);
    if (ec) {
      error_ = Unavailable("creating " + dir_ + ": " + ec.message());
    }
  }

  ~IngestingSnapshotSink() override {
    files_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Status Add(const internal::SnapshotChunk& chunk) override {
    SHARDKV_RETURN_IF_ERROR(error_);
    error_ = AddPairs(chunk);
    return error_;
  }

  Status Finish(const AppliedState& state) override {
    SHARDKV_RETURN_IF_ERROR(error_);
    error_ = FailedPrecondition("snapshot install already finished");
    std::lock_guard<std::mutex> lock(core_->write_mu);
    // Whatever happens below, the cached records and sessions may no
    // longer match the column families.
    core_->apply_cache.Clear();
    std::vector<rocksdb::IngestExternalFileArg> args;
    for (Column column : kImageColumns) {
      SHARDKV_RETURN_IF_ERROR(SealFile(column, &args));
    }
    AppliedState merged = state;
    if (streamed_state_) {
      merged.clock_ms = std::max(merged.clock_ms, streamed_state_->clock_ms);
      if (merged.addresses.empty()) {
        merged.addresses = streamed_state_->addresses;
      }
    }
    SHARDKV_RETURN_IF_ERROR(WriteAppliedFile(merged, &args));
    // Readers check a slot and read its data under slots_mu: they see the
    // old image or the new one, never a mix.
    std::unique_lock<std::shared_mutex> slots_lock(core_->slots_mu);
    rocksdb::Status s = core_->engine->db()->IngestExternalFiles(args);
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "installing a snapshot"));
    SlotTable table;
    Status loaded =
        LoadSlotTable(core_->engine->db(), core_->engine->cf(Column::kSlots),
                      nullptr, &table);
    if (!loaded.ok()) return loaded;
    core_->slots = std::move(table);
    slots_lock.unlock();
    core_->set_applied(merged);
    core_->reclaim_cursor.clear();
    return Status::Ok();
  }

 private:
  struct File {
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    std::string path;
    std::string last_key;
    uint64_t pairs = 0;
  };

  Status AddPairs(const internal::SnapshotChunk& chunk) {
    const auto column = static_cast<Column>(chunk.column_family());
    if (column == Column::kMeta) return AddAppliedState(chunk);
    if (column != Column::kData && column != Column::kSessions &&
        column != Column::kSlots) {
      return InvalidArgument("snapshot chunk for column family " +
                             std::to_string(chunk.column_family()));
    }
    if (chunk.keys_size() != chunk.values_size()) {
      return InvalidArgument("snapshot chunk with unpaired keys and values");
    }
    StatusOr<File*> file = OpenFile(column);
    if (!file.ok()) return file.status();
    for (int i = 0; i < chunk.keys_size(); ++i) {
      const std::string& key = chunk.keys(i);
      if ((*file)->pairs > 0 && key <= (*file)->last_key) {
        return InvalidArgument("snapshot keys out of order");
      }
      rocksdb::Status s = (*file)->writer->Put(key, chunk.values(i));
      SHARDKV_RETURN_IF_ERROR(FromRocks(s, "writing a snapshot file"));
      (*file)->last_key = key;
      ++(*file)->pairs;
    }
    return Status::Ok();
  }

  Status AddAppliedState(const internal::SnapshotChunk& chunk) {
    AppliedState state;
    if (chunk.keys_size() != 1 || chunk.values_size() != 1 ||
        chunk.keys(0) != kAppliedKey ||
        !DecodeAppliedState(chunk.values(0), &state)) {
      return InvalidArgument("malformed applied state in a snapshot chunk");
    }
    streamed_state_ = std::move(state);
    return Status::Ok();
  }

  StatusOr<File*> OpenFile(Column column) {
    File& file = files_[column];
    if (file.writer) return &file;
    rocksdb::DB* db = core_->engine->db();
    rocksdb::Options options(db->GetDBOptions(),
                             db->GetOptions(core_->engine->cf(column)));
    file.writer = std::make_unique<rocksdb::SstFileWriter>(
        rocksdb::EnvOptions(), options);
    file.path = dir_ + "/column-" +
                std::to_string(static_cast<uint32_t>(column)) + ".sst";
    rocksdb::Status s = file.writer->Open(file.path);
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "creating a snapshot file"));
    return &file;
  }

  // Adds the tombstone over what `column` holds now and finishes its file.
  // REQUIRES: write_mu held, so the column cannot change until ingestion.
  Status SealFile(Column column,
                  std::vector<rocksdb::IngestExternalFileArg>* args) {
    rocksdb::DB* db = core_->engine->db();
    auto* cf = core_->engine->cf(column);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
    it->SeekToFirst();
    std::string first = it->Valid() ? it->key().ToString() : "";
    const bool has_old = it->Valid();
    it->SeekToLast();
    std::string end = it->Valid() ? it->key().ToString() + '\0' : "";
    SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "scanning old state"));
    auto found = files_.find(column);
    if (!has_old && found == files_.end()) return Status::Ok();
    StatusOr<File*> file = OpenFile(column);
    if (!file.ok()) return file.status();
    if (has_old) {
      rocksdb::Status s = (*file)->writer->DeleteRange(first, end);
      SHARDKV_RETURN_IF_ERROR(FromRocks(s, "writing a snapshot tombstone"));
    } else if ((*file)->pairs == 0) {
      return Status::Ok();  // nothing old, nothing new
    }
    rocksdb::Status s = (*file)->writer->Finish();
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "finishing a snapshot file"));
    args->push_back(Ingest(cf, (*file)->path));
    return Status::Ok();
  }

  Status WriteAppliedFile(const AppliedState& state,
                          std::vector<rocksdb::IngestExternalFileArg>* args) {
    StatusOr<File*> file = OpenFile(Column::kMeta);
    if (!file.ok()) return file.status();
    rocksdb::Status s =
        (*file)->writer->Put(kAppliedKey, EncodeAppliedState(state));
    if (s.ok()) s = (*file)->writer->Finish();
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "writing the snapshot's state"));
    args->push_back(Ingest(core_->engine->cf(Column::kMeta), (*file)->path));
    return Status::Ok();
  }

  static rocksdb::IngestExternalFileArg Ingest(rocksdb::ColumnFamilyHandle* cf,
                                               const std::string& path) {
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = cf;
    arg.external_files = {path};
    arg.options.move_files = true;
    arg.options.snapshot_consistency = true;
    arg.options.allow_global_seqno = true;
    arg.options.allow_blocking_flush = true;
    return arg;
  }

  StateMachineCore* const core_;
  const std::string dir_;
  std::map<Column, File> files_;
  std::optional<AppliedState> streamed_state_;
  Status error_;
};

}  // namespace

std::string InstallDir(const Engine& engine) {
  return engine.dir() + "/snapshot-install.tmp";
}

Status RemoveInterruptedInstall(const Engine& engine) {
  std::error_code ec;
  const std::string dir = InstallDir(engine);
  if (std::filesystem::remove_all(dir, ec) > 0) {
    SHARDKV_LOG(kWarning) << "removed an interrupted snapshot install";
  }
  if (ec) return Unavailable("removing " + dir + ": " + ec.message());
  return Status::Ok();
}

std::unique_ptr<SnapshotSource> NewSnapshotSource(Engine* engine) {
  return std::make_unique<RocksSnapshotSource>(engine);
}

std::unique_ptr<SnapshotSink> NewSnapshotSink(StateMachineCore* core) {
  return std::make_unique<IngestingSnapshotSink>(core);
}

}  // namespace shardkv::storage
