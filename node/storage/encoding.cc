#include "node/storage/encoding.h"

namespace shardkv::storage {

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, sizeof(buf));
}

void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, sizeof(buf));
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutFixed32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

bool Decoder::GetFixed64(uint64_t* v) {
  if (in_.size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) {
    r |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
  }
  *v = r;
  in_.remove_prefix(8);
  return true;
}

bool Decoder::GetFixed32(uint32_t* v) {
  if (in_.size() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    r |= static_cast<uint32_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
  }
  *v = r;
  in_.remove_prefix(4);
  return true;
}

bool Decoder::GetByte(uint8_t* v) {
  if (in_.empty()) return false;
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Decoder::GetBytes(std::string* bytes) {
  uint32_t n = 0;
  if (!GetFixed32(&n) || in_.size() < n) return false;
  bytes->assign(in_.data(), n);
  in_.remove_prefix(n);
  return true;
}

std::string BigEndianKey(uint64_t v) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(v >> (56 - 8 * i));
  return key;
}

uint64_t DecodeBigEndian(std::string_view key) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(key[i]);
  }
  return v;
}

std::string EncodeEntryHeader(const raft::Entry& entry) {
  std::string out;
  PutFixed64(&out, entry.term);
  out.push_back(static_cast<char>(entry.type));
  return out;
}

std::string EncodeEntry(const raft::Entry& entry) {
  return EncodeEntryHeader(entry) + entry.data;
}

bool DecodeEntry(raft::Index index, std::string_view value, raft::Entry* out) {
  Decoder in(value);
  uint8_t type = 0;
  if (!in.GetFixed64(&out->term) || !in.GetByte(&type)) return false;
  if (type > static_cast<uint8_t>(raft::EntryType::kConfChange)) return false;
  out->index = index;
  out->type = static_cast<raft::EntryType>(type);
  out->data.assign(in.Rest());
  return true;
}

std::string EncodeHardState(const raft::HardState& hs) {
  std::string out;
  PutFixed64(&out, hs.term);
  PutFixed64(&out, hs.vote);
  PutFixed64(&out, hs.commit);
  return out;
}

bool DecodeHardState(std::string_view in, raft::HardState* out) {
  Decoder d(in);
  return d.GetFixed64(&out->term) && d.GetFixed64(&out->vote) &&
         d.GetFixed64(&out->commit);
}

namespace {

void PutIds(std::string* out, const std::vector<raft::NodeId>& ids) {
  PutFixed32(out, static_cast<uint32_t>(ids.size()));
  for (raft::NodeId id : ids) PutFixed64(out, id);
}

bool GetIds(Decoder* in, std::vector<raft::NodeId>* ids) {
  uint32_t n = 0;
  if (!in->GetFixed32(&n)) return false;
  if (n > in->Rest().size() / 8) return false;
  ids->resize(n);
  for (auto& id : *ids) {
    if (!in->GetFixed64(&id)) return false;
  }
  return true;
}

}  // namespace

void PutConfState(std::string* out, const raft::ConfState& conf) {
  PutIds(out, conf.voters);
  PutIds(out, conf.learners);
}

bool GetConfState(Decoder* in, raft::ConfState* out) {
  return GetIds(in, &out->voters) && GetIds(in, &out->learners);
}

std::string EncodeSnapshotMeta(const raft::SnapshotMeta& meta) {
  std::string out;
  PutFixed64(&out, meta.index);
  PutFixed64(&out, meta.term);
  PutConfState(&out, meta.conf);
  return out;
}

bool DecodeSnapshotMeta(std::string_view in, raft::SnapshotMeta* out) {
  Decoder d(in);
  return d.GetFixed64(&out->index) && d.GetFixed64(&out->term) &&
         GetConfState(&d, &out->conf);
}

}  // namespace shardkv::storage
