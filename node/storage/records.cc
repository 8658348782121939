#include "node/storage/records.h"

#include "node/storage/encoding.h"

namespace shardkv::storage {
namespace {

// Signed clock values in an order-preserving unsigned form.
uint64_t OrderedClock(int64_t ms) {
  return static_cast<uint64_t>(ms) ^ (1ull << 63);
}

}  // namespace

std::string EncodeValueRecord(uint64_t version, int64_t expire_at_ms,
                              std::string_view value) {
  std::string out;
  out.reserve(16 + value.size());
  PutFixed64(&out, version);
  PutFixed64(&out, static_cast<uint64_t>(expire_at_ms));
  out.append(value);
  return out;
}

bool DecodeValueRecord(std::string_view in, ValueRecord* out) {
  Decoder d(in);
  uint64_t expire = 0;
  if (!d.GetFixed64(&out->version) || !d.GetFixed64(&expire)) return false;
  out->expire_at_ms = static_cast<int64_t>(expire);
  out->value = d.Rest();
  return true;
}

std::string EncodeSession(const Session& session) {
  std::string out;
  PutFixed64(&out, session.last_sequence);
  PutFixed64(&out, static_cast<uint64_t>(session.last_seen_ms));
  const ApplyResult& r = session.result;
  PutFixed32(&out, static_cast<uint32_t>(r.status.code()));
  PutBytes(&out, r.status.message());
  PutFixed64(&out, r.version);
  out.push_back(r.deleted ? 1 : 0);
  PutFixed64(&out, r.current_version);
  return out;
}

bool DecodeSession(std::string_view in, Session* out) {
  Decoder d(in);
  uint64_t seen = 0;
  uint32_t code = 0;
  std::string message;
  uint8_t deleted = 0;
  ApplyResult& r = out->result;
  if (!d.GetFixed64(&out->last_sequence) || !d.GetFixed64(&seen) ||
      !d.GetFixed32(&code) || !d.GetBytes(&message) ||
      !d.GetFixed64(&r.version) || !d.GetByte(&deleted) ||
      !d.GetFixed64(&r.current_version) || code > 16) {
    return false;
  }
  out->last_seen_ms = static_cast<int64_t>(seen);
  r.status = code == 0 ? Status::Ok()
                       : Status(static_cast<Code>(code), std::move(message));
  r.deleted = deleted != 0;
  return true;
}

std::string SessionKey(uint64_t client_id) {
  return "c" + BigEndianKey(client_id);
}

std::string SessionIndexKey(int64_t last_seen_ms, uint64_t client_id) {
  return std::string(1, kSessionIndexPrefix) +
         BigEndianKey(OrderedClock(last_seen_ms)) + BigEndianKey(client_id);
}

int64_t SessionIndexLastSeen(std::string_view key) {
  return static_cast<int64_t>(DecodeBigEndian(key.substr(1)) ^ (1ull << 63));
}

uint64_t SessionIndexClient(std::string_view key) {
  return DecodeBigEndian(key.substr(9));
}

std::string EncodeAppliedState(const AppliedState& state) {
  std::string out;
  PutFixed64(&out, state.index);
  PutFixed64(&out, state.term);
  PutFixed64(&out, static_cast<uint64_t>(state.clock_ms));
  PutConfState(&out, state.conf);
  PutFixed32(&out, static_cast<uint32_t>(state.addresses.size()));
  for (const auto& [id, address] : state.addresses) {
    PutFixed64(&out, id);
    PutBytes(&out, address);
  }
  return out;
}

bool DecodeAppliedState(std::string_view in, AppliedState* out) {
  Decoder d(in);
  uint64_t clock = 0;
  uint32_t count = 0;
  if (!d.GetFixed64(&out->index) || !d.GetFixed64(&out->term) ||
      !d.GetFixed64(&clock) || !GetConfState(&d, &out->conf) ||
      !d.GetFixed32(&count)) {
    return false;
  }
  out->clock_ms = static_cast<int64_t>(clock);
  out->addresses.clear();
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t id = 0;
    std::string address;
    if (!d.GetFixed64(&id) || !d.GetBytes(&address)) return false;
    out->addresses[id] = std::move(address);
  }
  return true;
}

}  // namespace shardkv::storage
