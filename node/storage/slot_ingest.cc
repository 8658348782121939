#include "node/storage/slot_ingest.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "node/storage/records.h"
#include "node/storage/slots.h"

namespace shardkv::storage {

SlotIngest::~SlotIngest() {
  for (const std::string& path : files_) std::remove(path.c_str());
}

Status SlotIngest::Add(
    const google::protobuf::RepeatedPtrField<internal::SlotRecord>& records,
    const std::function<bool(const internal::SlotRecord&)>& takes,
    uint64_t entry_index) {
  // The file wants strictly increasing keys: sort the records' data keys,
  // the later of two equal keys winning (stable sort, keep the last).
  struct Item {
    std::string data_key;
    int index;
  };
  std::vector<Item> items;
  items.reserve(records.size());
  for (int i = 0; i < records.size(); ++i) {
    if (takes(records[i])) items.push_back({DataKey(records[i].key()), i});
  }
  if (items.empty()) return Status::Ok();
  std::stable_sort(
      items.begin(), items.end(),
      [](const Item& a, const Item& b) { return a.data_key < b.data_key; });

  rocksdb::DB* db = engine_->db();
  rocksdb::ColumnFamilyHandle* cf = engine_->cf(Column::kData);
  rocksdb::Options options(db->GetDBOptions(), db->GetOptions(cf));
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf);
  const std::string path = engine_->dir() + "/slot-import-" +
                           std::to_string(entry_index) + "-" +
                           std::to_string(added_++) + ".sst";
  SHARDKV_RETURN_IF_ERROR(
      FromRocks(writer.Open(path), "creating an import file"));
  files_.push_back(path);  // removed by the destructor unless ingested
  for (size_t i = 0; i < items.size(); ++i) {
    if (i + 1 < items.size() && items[i + 1].data_key == items[i].data_key) {
      continue;  // a later record of the same key follows
    }
    const internal::SlotRecord& r = records[items[i].index];
    rocksdb::Status s =
        r.deleted() ? writer.Delete(items[i].data_key)
                    : writer.Put(items[i].data_key,
                                 EncodeValueRecord(
                                     r.version(), r.expire_at_ms(), r.value()));
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "writing an import file"));
  }
  return FromRocks(writer.Finish(), "finishing an import file");
}

Status SlotIngest::IngestPending() {
  rocksdb::IngestExternalFileOptions options;
  options.move_files = true;
  options.snapshot_consistency = true;
  options.allow_global_seqno = true;
  // The importing range may overlap the memtable (the BeginImport range
  // deletion, an earlier small import): RocksDB flushes it first, with
  // atomic_flush every column family at one point, as the WAL-less state
  // machine needs (SlotIngestTest.AnIngestOverlappingTheMemtable...).
  options.allow_blocking_flush = true;
  while (!files_.empty()) {
    // One file per call: each gets a newer sequence number than the last.
    rocksdb::Status s = engine_->db()->IngestExternalFile(
        engine_->cf(Column::kData), {files_.front()}, options);
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "ingesting an import file"));
    files_.erase(files_.begin());
  }
  written_.clear();
  return Status::Ok();
}

}  // namespace shardkv::storage
