// SlotIngest: applies a large import of slot records (ImportRecords, docs/
// sharding.md "The copy path") by writing them into one sorted SST file of
// the data column family and ingesting it (IngestExternalFile), instead of
// putting every record through the apply batch: no WAL append, no memtable
// insert and no memtable flush of the copied bytes (each replica still
// writes them once, into the file).
//
// Order. The file is ingested by Applier::Commit() BEFORE the apply batch
// is written, so it gets an older sequence number than everything else in
// that batch. That is only the batch's order if nothing earlier in the
// batch wrote the same keys: the Applier therefore ingests an import only
// when no earlier command of its batch dropped or wrote data of the
// import's slots (MarkWritten), and commits right after the entry that
// ingests (as after a DeleteRange, applier.h), so no later command reads
// those keys through a batch that does not see the file. Several files of
// one batch are ingested one by one in their order, each newer than the
// last.
//
// Crash safety. An ingested file is durable on its own (RocksDB syncs it
// and its MANIFEST record); the batch with the applied index follows
// unsynced. A crash in between leaves the applied index before the entry:
// replay runs the entry again and ingests the same records again (the
// whole batch from the applied index is replayed in order, so the result
// is the same). Every replica ends with the same logical data whichever
// path (file or batch) it took for an import.
//
// Thread-safety: not thread-safe; owned by one Applier.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/storage/engine.h"
#include "shardkv/internal/shard_control.pb.h"

namespace shardkv::storage {

// Imports with fewer record bytes than this go through the apply batch: a
// file costs an fsync and a MANIFEST write, worth it for the bulk copy's
// chunks (about 2 MiB), not for a catch-up round's few keys.
inline constexpr uint64_t kIngestMinBytes = 256 << 10;

class SlotIngest {
 public:
  explicit SlotIngest(Engine* engine) : engine_(engine) {}
  ~SlotIngest();  // removes files never ingested

  // An earlier command of this batch wrote or dropped data of `slot`.
  void MarkWritten(uint32_t slot) { written_.insert(slot); }
  bool Written(uint32_t slot) const { return written_.count(slot) > 0; }

  // Writes the records `takes` accepts into a new file, to be ingested by
  // IngestPending() (none if it takes none). Records may come in any
  // order; for a key given twice the later one wins, as in a batch. The
  // file is named after the entry (a replay rewrites the same file).
  Status Add(
      const google::protobuf::RepeatedPtrField<internal::SlotRecord>& records,
      const std::function<bool(const internal::SlotRecord&)>& takes,
      uint64_t entry_index);

  bool pending() const { return !files_.empty(); }
  // Ingests the files in the order added; call before writing the batch.
  Status IngestPending();

 private:
  Engine* const engine_;
  std::set<uint32_t> written_;
  std::vector<std::string> files_;  // written, not ingested yet
  int added_ = 0;                   // files of this batch, for their names
};

}  // namespace shardkv::storage
