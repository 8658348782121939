#include "node/storage/apply_batch.h"

#include <vector>

namespace shardkv::storage {
namespace {

constexpr uint32_t kColumnCount = static_cast<uint32_t>(Column::kSlots) + 1;

// Replays a plain batch into an indexed one, operation by operation, so the
// index holds exactly what the plain batch would have written.
class Reindexer : public rocksdb::WriteBatch::Handler {
 public:
  Reindexer(const Engine& engine, rocksdb::WriteBatchWithIndex* out)
      : out_(out) {
    for (uint32_t c = 0; c < kColumnCount; ++c) {
      handles_.push_back(engine.cf(static_cast<Column>(c)));
    }
  }

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    auto* cf = Handle(id);
    if (cf == nullptr) return Unknown(id);
    return out_->Put(cf, key, value);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    auto* cf = Handle(id);
    if (cf == nullptr) return Unknown(id);
    return out_->Delete(cf, key);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    auto* cf = Handle(id);
    if (cf == nullptr) return Unknown(id);
    return out_->GetWriteBatch()->DeleteRange(cf, begin, end);
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(uint32_t id) const {
    for (auto* handle : handles_) {
      if (handle->GetID() == id) return handle;
    }
    return nullptr;
  }
  static rocksdb::Status Unknown(uint32_t id) {
    return rocksdb::Status::InvalidArgument(
        "apply batch writes unknown column family " + std::to_string(id));
  }

  rocksdb::WriteBatchWithIndex* const out_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace

void ApplyBatch::Put(Column column, const rocksdb::Slice& key,
                     const rocksdb::Slice& value) {
  if (indexed_) {
    indexed_->Put(engine_->cf(column), key, value);
  } else {
    plain_.Put(engine_->cf(column), key, value);
  }
}

void ApplyBatch::PutValueRecord(const rocksdb::Slice& data_key,
                                uint64_t version, int64_t expire_at_ms,
                                const rocksdb::Slice& value) {
  char header[16];
  for (int i = 0; i < 8; ++i) {
    header[i] = static_cast<char>(version >> (8 * i));
    header[8 + i] =
        static_cast<char>(static_cast<uint64_t>(expire_at_ms) >> (8 * i));
  }
  if (indexed_) {
    std::string record(header, sizeof(header));
    record.append(value.data(), value.size());
    indexed_->Put(engine_->cf(Column::kData), data_key, record);
    return;
  }
  const rocksdb::Slice parts[] = {rocksdb::Slice(header, sizeof(header)),
                                  value};
  plain_.Put(engine_->cf(Column::kData), rocksdb::SliceParts(&data_key, 1),
             rocksdb::SliceParts(parts, 2));
}

void ApplyBatch::Delete(Column column, const rocksdb::Slice& key) {
  if (indexed_) {
    indexed_->Delete(engine_->cf(column), key);
  } else {
    plain_.Delete(engine_->cf(column), key);
  }
}

void ApplyBatch::DeleteRange(Column column, const rocksdb::Slice& begin,
                             const rocksdb::Slice& end) {
  write_batch()->DeleteRange(engine_->cf(column), begin, end);
}

Status ApplyBatch::Index() {
  if (indexed_) return Status::Ok();
  auto indexed = std::make_unique<rocksdb::WriteBatchWithIndex>(
      rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true);
  Reindexer reindexer(*engine_, indexed.get());
  SHARDKV_RETURN_IF_ERROR(
      FromRocks(plain_.Iterate(&reindexer), "indexing the apply batch"));
  plain_.Clear();
  indexed_ = std::move(indexed);
  return Status::Ok();
}

rocksdb::Status ApplyBatch::Get(Column column, const rocksdb::Slice& key,
                                std::string* value) const {
  if (indexed_) {
    return indexed_->GetFromBatchAndDB(engine_->db(), {}, engine_->cf(column),
                                       key, value);
  }
  return engine_->db()->Get({}, engine_->cf(column), key, value);
}

std::unique_ptr<rocksdb::Iterator> ApplyBatch::NewIterator(
    Column column) const {
  auto* cf = engine_->cf(column);
  std::unique_ptr<rocksdb::Iterator> base(engine_->db()->NewIterator({}, cf));
  if (!indexed_) return base;
  return std::unique_ptr<rocksdb::Iterator>(
      indexed_->NewIteratorWithBase(cf, base.release()));
}

}  // namespace shardkv::storage
