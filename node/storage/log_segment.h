// The segment log's on-disk format (segment_log_store.h) and one segment
// file.
//
// A segment is a file <seq as 16 hex digits>.seg, preallocated with zeros
// (SegmentFile::Prepare) and then overwritten from the start by records:
//
//   [u32 payload length][u32 crc32c of type + payload][u8 type][payload]
//
// little-endian. An all-zero header marks the end of the written part
// (the file's preallocated tail). Record types and payloads:
//   kSegmentStart  "SKVSEG01" + u64 seq: first record of every segment
//   kEntry         u64 index, u64 term, u8 entry type, data
//   kHardState     EncodeHardState
//   kBase          EncodeSnapshotMeta: entries <= index are compacted
//   kSnapshot      EncodeSnapshotMeta: a snapshot was installed, every
//                  earlier entry (older or newer) is discarded
//   kBootstrapConf PutConfState: the initial voters
//
// Thread-safety: SegmentFile's Read() may run concurrently with Write()
// and Sync() (pread/pwrite); the rest is plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "node/raft/types.h"

namespace shardkv::storage {

enum class LogRecordType : uint8_t {
  kSegmentStart = 1,
  kEntry = 2,
  kHardState = 3,
  kBase = 4,
  kSnapshot = 5,
  kBootstrapConf = 6,
};

constexpr size_t kLogRecordHeaderBytes = 9;
// Payload bytes of an entry record before the entry's data.
constexpr size_t kEntryRecordPrefixBytes = 17;

void AppendLogRecord(std::string* out, LogRecordType type,
                     std::string_view payload);
// An entry record without first building its payload (the data is copied
// once, into `out`).
void AppendEntryRecord(std::string* out, const raft::Entry& entry);
std::string SegmentStartPayload(uint64_t seq);
bool DecodeSegmentStart(std::string_view payload, uint64_t* seq);
// Index, term and type of an entry record's payload, without its data.
bool PeekEntryRecord(std::string_view payload, raft::Index* index,
                     raft::Term* term, raft::EntryType* type);
bool DecodeEntryRecord(std::string_view payload, raft::Entry* entry);

struct LogRecord {
  LogRecordType type;
  std::string_view payload;
  size_t bytes;  // header included
};

enum class ParseOutcome {
  kRecord,   // *out is a valid record
  kEnd,      // an all-zero header: nothing was written here
  kTorn,     // the record runs past the end of the data
  kCorrupt,  // bad CRC, unknown type
};
// Parses the record at the start of `data`.
ParseOutcome ParseLogRecord(std::string_view data, LogRecord* out);

class SegmentFile {
 public:
  // Creates `path` as `bytes` of zeros, synced (data and size), so later
  // writes within it only overwrite: an fdatasync is then one data I/O.
  static Status Prepare(const std::string& path, uint64_t bytes);
  static StatusOr<std::unique_ptr<SegmentFile>> Open(const std::string& path,
                                                     uint64_t seq);
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  uint64_t seq() const { return seq_; }
  const std::string& path() const { return path_; }

  Status ReadAll(std::string* out) const;
  Status Read(uint64_t offset, size_t size, std::string* out) const;
  Status Write(uint64_t offset, std::string_view data);
  // Writes zeros over [offset, end of file).
  Status ZeroFrom(uint64_t offset);
  Status Sync();

 private:
  SegmentFile(std::string path, uint64_t seq, int fd)
      : path_(std::move(path)), seq_(seq), fd_(fd) {}

  const std::string path_;
  const uint64_t seq_;
  const int fd_;
};

// fsync of a directory, after creating, renaming or removing files in it.
Status SyncDir(const std::string& dir);

}  // namespace shardkv::storage
