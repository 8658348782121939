// Value types of the Raft core: log entries, persistent state, membership,
// messages. Plain structs with no I/O; the server converts them to and from
// the wire format (proto/shardkv/internal/raft.proto).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardkv::raft {

using NodeId = uint64_t;
using Term = uint64_t;
using Index = uint64_t;

// Node ids start at 1; 0 means "nobody" (no vote, no known leader).
constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kNormal = 0,      // data is an application command (may be empty: no-op)
  kConfChange = 1,  // data is ConfChange::Encode()
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// The state Raft must persist before answering any message (Figure 2).
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
};

// Current membership: voters count for quorums, learners only replicate.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool operator==(const ConfState&) const = default;
};

// Single-step membership changes (Raft thesis §4.1), one at a time:
// a new replica joins as a learner, catches up, then is promoted.
enum class ConfChangeType : uint8_t {
  kAddLearner = 0,
  kPromote = 1,  // learner -> voter
  kRemove = 2,   // voter or learner leaves
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddLearner;
  NodeId node = kNoNode;
  // Opaque to Raft; the server stores the replica's address here.
  std::string context;

  bool operator==(const ConfChange&) const = default;
  std::string Encode() const;
  static std::optional<ConfChange> Decode(std::string_view data);
};

// Describes the state machine image a snapshot carries: everything up to
// and including `index` (whose entry had `term`), and the membership then.
struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  ConfState conf;

  bool operator==(const SnapshotMeta&) const = default;
};

enum class MessageType : uint8_t {
  kAppend = 0,  // AppendEntries (also carries commit)
  kAppendResponse = 1,
  kVote = 2,  // RequestVote
  kVoteResponse = 3,
  kPreVote = 4,  // thesis §9.6: would you vote for me?
  kPreVoteResponse = 5,
  kHeartbeat = 6,  // empty AppendEntries; context carries ReadIndex ids
  kHeartbeatResponse = 7,
  kSnapshot = 8,    // InstallSnapshot: data streamed by the server
  kTimeoutNow = 9,  // leadership transfer: start an election now
};

const char* MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  // kAppend: the entry preceding `entries` (prevLogTerm / prevLogIndex).
  // kVote/kPreVote: the candidate's last log term and index.
  // kAppendResponse: the highest index the follower now matches (or, with
  // reject, the rejected prevLogIndex).
  Term log_term = 0;
  Index index = 0;
  std::vector<Entry> entries;
  Index commit = 0;
  bool reject = false;
  // kAppendResponse with reject: a hint of the follower's last index, so the
  // leader can skip back quickly instead of one entry at a time.
  Index reject_hint = 0;
  SnapshotMeta snapshot;  // kSnapshot only
  std::string context;    // kHeartbeat(Response): ReadIndex batch id

  bool operator==(const Message&) const = default;
};

}  // namespace shardkv::raft
