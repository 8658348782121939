#include "node/raft/types.h"

namespace shardkv::raft {
namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  }
  return v;
}

}  // namespace

// Layout: 1 byte type, 8 bytes node id (little endian), then the context.
std::string ConfChange::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(type));
  PutU64(&out, node);
  out += context;
  return out;
}

std::optional<ConfChange> ConfChange::Decode(std::string_view data) {
  if (data.size() < 9) return std::nullopt;
  auto type = static_cast<uint8_t>(data[0]);
  if (type > static_cast<uint8_t>(ConfChangeType::kRemove)) return std::nullopt;
  ConfChange cc;
  cc.type = static_cast<ConfChangeType>(type);
  cc.node = GetU64(data.substr(1));
  cc.context = std::string(data.substr(9));
  return cc;
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "Unknown";
}

}  // namespace shardkv::raft
