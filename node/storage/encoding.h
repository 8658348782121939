// Byte encodings of what node/storage persists: fixed-width integers, log
// keys and the Raft value types. Compact binary instead of protobuf, because
// the log entries and records are on the hot path.
//
// Integers are little endian, except log keys (big endian, so RocksDB's
// bytewise order is index order). A Decoder never reads past its input: each
// Get* returns false on short input, and the caller reports corruption.
//
// Thread-safety: stateless functions; a Decoder is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "node/raft/types.h"

namespace shardkv::storage {

void PutFixed64(std::string* out, uint64_t v);
void PutFixed32(std::string* out, uint32_t v);
// A length (fixed32) followed by the bytes.
void PutBytes(std::string* out, std::string_view bytes);

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool GetFixed64(uint64_t* v);
  bool GetFixed32(uint32_t* v);
  bool GetByte(uint8_t* v);
  bool GetBytes(std::string* bytes);
  // Everything not read yet.
  std::string_view Rest() const { return in_; }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// 8-byte big-endian key of a log index (also used for client ids).
std::string BigEndianKey(uint64_t v);
uint64_t DecodeBigEndian(std::string_view key);  // REQUIRES: size >= 8

// Log entry value: term (fixed64), type (1 byte), data. The index is the key.
std::string EncodeEntry(const raft::Entry& entry);
// The part of EncodeEntry() before the data.
std::string EncodeEntryHeader(const raft::Entry& entry);
bool DecodeEntry(raft::Index index, std::string_view value, raft::Entry* out);

std::string EncodeHardState(const raft::HardState& hs);
bool DecodeHardState(std::string_view in, raft::HardState* out);

void PutConfState(std::string* out, const raft::ConfState& conf);
bool GetConfState(Decoder* in, raft::ConfState* out);

std::string EncodeSnapshotMeta(const raft::SnapshotMeta& meta);
bool DecodeSnapshotMeta(std::string_view in, raft::SnapshotMeta* out);

}  // namespace shardkv::storage
