// Encodings of the state machine's records (data, sessions and meta column
// families). Internal to node/storage; all replicas must agree on them
// byte for byte, since snapshots ship them as they are.
//
//   data      key -> version (fixed64), expire_at_ms (fixed64), value
//   sessions  'c' + client id (BE)              -> Session
//             't' + minute last seen (BE) + client id -> "" (expiry index)
//   meta      "applied" -> AppliedState (position, clock, conf, addresses)
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "node/storage/state_machine.h"

namespace shardkv::storage {

inline constexpr char kAppliedKey[] = "applied";

struct ValueRecord {
  uint64_t version = 0;
  int64_t expire_at_ms = 0;  // 0 = never
  std::string_view value;    // points into the encoded input

  bool ExpiredAt(int64_t now_ms) const {
    return expire_at_ms != 0 && expire_at_ms <= now_ms;
  }
};

std::string EncodeValueRecord(uint64_t version, int64_t expire_at_ms,
                              std::string_view value);
// `out->value` aliases `in`.
bool DecodeValueRecord(std::string_view in, ValueRecord* out);

// The last applied command of a client and what it returned.
struct Session {
  uint64_t last_sequence = 0;
  int64_t last_seen_ms = 0;  // applied clock when it was applied
  ApplyResult result;
};

std::string EncodeSession(const Session& session);
bool DecodeSession(std::string_view in, Session* out);
std::string SessionKey(uint64_t client_id);
std::string SessionIndexKey(int64_t last_seen_ms, uint64_t client_id);
inline constexpr char kSessionIndexPrefix = 't';
// REQUIRES: key is a SessionIndexKey.
int64_t SessionIndexLastSeen(std::string_view key);
uint64_t SessionIndexClient(std::string_view key);

std::string EncodeAppliedState(const AppliedState& state);
bool DecodeAppliedState(std::string_view in, AppliedState* out);

}  // namespace shardkv::storage
