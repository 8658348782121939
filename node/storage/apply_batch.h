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

  rocksdb::WriteBatch* write_batch() {
    return indexed_ ? indexed_->GetWriteBatch() : &plain_;
  }

 private:
  Engine* const engine_;
  rocksdb::WriteBatch plain_;
  std::unique_ptr<rocksdb::WriteBatchWithIndex> indexed_;
};

}  // namespace shardkv::storage
