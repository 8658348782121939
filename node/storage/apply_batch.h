// ApplyBatch: the RocksDB writes of one apply batch (applier.h), in a plain
// rocksdb::WriteBatch until something needs to read through them.
//
// Set/Delete commands never read their own batch from RocksDB: the Applier
// keeps what they wrote in its overlay (ApplyCache::Overlay) and serves
// later reads of the batch from it. Indexing every Put for a read that never
// comes (WriteBatchWithIndex keeps a skiplist of the batch's keys) was a
// sixth of the apply path's CPU (docs/benchmarks.md, "Apply with a plain
// WriteBatch"). Slot commands do read through the batch (imports, drops,
// change sets, merged sessions): Index() then moves every write so far into
// a WriteBatchWithIndex, in order, and the batch stays indexed until it is
// written.
//
// Data column point writes of the plain batch are held back and added to
// the WriteBatch sorted by key (stable, so writes of one key keep their
// order) when the batch is written, indexed or gets a DeleteRange of the
// data column. RocksDB's memtable inserts a batch's keys in batch order and
// starts each skiplist search from where the previous insert went, so
// sorted keys skip the upper levels of the search: the `data` memtable
// insert was the largest item of the write path's profile
// (docs/benchmarks.md, "Write path, session 8"). Other column families
// are written as they come; the order across column families of one
// atomic batch is not observable.
//
// Invariant: while !indexed(), reads here see the DB only; the caller must
// know every key it wrote to this batch that it may read again.
// DeleteRange is never visible to reads through the index (RocksDB's
// WriteBatchWithIndex does not index it); see applier.h for why that is
// safe.
//
// Thread-safety: not thread-safe; one Applier uses it.
#pragma once

#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/storage/engine.h"

namespace shardkv::storage {

class ApplyBatch {
 public:
  explicit ApplyBatch(Engine* engine) : engine_(engine) {}

  void Put(Column column, const rocksdb::Slice& key,
           const rocksdb::Slice& value);
  // A data record (records.h EncodeValueRecord) written without building
  // the encoded value first.
  void PutValueRecord(const rocksdb::Slice& data_key, uint64_t version,
                      int64_t expire_at_ms, const rocksdb::Slice& value);
  void Delete(Column column, const rocksdb::Slice& key);
  void DeleteRange(Column column, const rocksdb::Slice& begin,
                   const rocksdb::Slice& end);

  // From now on reads see this batch's writes (except DeleteRange).
  Status Index();
  bool indexed() const { return indexed_ != nullptr; }

  // The key's value in the DB overlaid by this batch once indexed().
  rocksdb::Status Get(Column column, const rocksdb::Slice& key,
                      std::string* value) const;
  // The same for a range.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Column column) const;

  // The writes so far, the held-back data writes included.
  rocksdb::WriteBatch* write_batch() {
    if (indexed_) return indexed_->GetWriteBatch();
    AddPendingData();
    return &plain_;
  }

 private:
  // A held-back data column write: offsets into pending_bytes_.
  struct PendingData {
    uint32_t key_offset;
    uint32_t key_size;
    uint32_t value_offset;
    uint32_t value_size;
    bool is_delete;
  };
  void HoldData(const rocksdb::Slice& key, const rocksdb::Slice* value_parts,
                int part_count, bool is_delete);
  // Adds the held-back data writes to plain_, sorted by key.
  void AddPendingData();

  Engine* const engine_;
  rocksdb::WriteBatch plain_;
  std::vector<PendingData> pending_;
  std::string pending_bytes_;
  std::unique_ptr<rocksdb::WriteBatchWithIndex> indexed_;
};

}  // namespace shardkv::storage
