#include "node/storage/apply_batch.h"

#include <algorithm>
#include <string_view>
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

void ApplyBatch::HoldData(const rocksdb::Slice& key,
                          const rocksdb::Slice* value_parts, int part_count,
                          bool is_delete) {
  PendingData write;
  write.key_offset = static_cast<uint32_t>(pending_bytes_.size());
  write.key_size = static_cast<uint32_t>(key.size());
  pending_bytes_.append(key.data(), key.size());
  write.value_offset = static_cast<uint32_t>(pending_bytes_.size());
  for (int i = 0; i < part_count; ++i) {
    pending_bytes_.append(value_parts[i].data(), value_parts[i].size());
  }
  write.value_size =
      static_cast<uint32_t>(pending_bytes_.size() - write.value_offset);
  write.is_delete = is_delete;
  pending_.push_back(write);
}

void ApplyBatch::AddPendingData() {
  if (pending_.empty()) return;
  const std::string& bytes = pending_bytes_;
  auto key_of = [&bytes](const PendingData& w) {
    return std::string_view(bytes.data() + w.key_offset, w.key_size);
  };
  std::stable_sort(pending_.begin(), pending_.end(),
                   [&](const PendingData& a, const PendingData& b) {
                     return key_of(a) < key_of(b);
                   });
  auto* cf = engine_->cf(Column::kData);
  for (const PendingData& w : pending_) {
    rocksdb::Slice key(bytes.data() + w.key_offset, w.key_size);
    if (w.is_delete) {
      plain_.Delete(cf, key);
    } else {
      plain_.Put(cf, key,
                 rocksdb::Slice(bytes.data() + w.value_offset, w.value_size));
    }
  }
  pending_.clear();
  pending_bytes_.clear();
}

void ApplyBatch::Put(Column column, const rocksdb::Slice& key,
                     const rocksdb::Slice& value) {
  if (!indexed_ && column == Column::kData) {
    HoldData(key, &value, 1, /*is_delete=*/false);
  } else if (indexed_) {
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
  HoldData(data_key, parts, 2, /*is_delete=*/false);
}

void ApplyBatch::Delete(Column column, const rocksdb::Slice& key) {
  if (!indexed_ && column == Column::kData) {
    HoldData(key, nullptr, 0, /*is_delete=*/true);
  } else if (indexed_) {
    indexed_->Delete(engine_->cf(column), key);
  } else {
    plain_.Delete(engine_->cf(column), key);
  }
}

void ApplyBatch::DeleteRange(Column column, const rocksdb::Slice& begin,
                             const rocksdb::Slice& end) {
  // write_batch() adds the held-back data writes first: the range deletes
  // what was written before it and nothing written after.
  write_batch()->DeleteRange(engine_->cf(column), begin, end);
}

Status ApplyBatch::Index() {
  if (indexed_) return Status::Ok();
  AddPendingData();
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
