// ReadOnly: the leader's batched ReadIndex queue [thesis §6.4].
//
// Reads are confirmed in rounds: at most one round is in flight; requests
// arriving meanwhile wait in a queue and all go out together in the next
// round. A round records the commit index at its start, is carried by a
// heartbeat broadcast whose context is the round id, and completes once a
// quorum of voters (the leader included) echoed that id -- proving that
// nobody else was leader when the round started.
//
// Thread-safety: not thread-safe; owned by Raft.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/raft/raw_node.h"
#include "node/raft/types.h"

namespace shardkv::raft {

class ProgressTracker;

class ReadOnly {
 public:
  void Enqueue(std::string context) { queued_.push_back(std::move(context)); }
  bool HasQueued() const { return !queued_.empty(); }
  bool InFlight() const { return round_.has_value(); }
  // Moves the queued requests into a new round reading at `commit_index`;
  // returns the round's heartbeat context. REQUIRES: !InFlight().
  std::string StartRound(Index commit_index, NodeId self);
  // Context of the round in flight, empty if none.
  std::string InFlightContext() const;
  // Records that `from` echoed `context`. When the round gains a quorum,
  // returns its reads and clears it.
  std::optional<std::vector<ReadState>> RecvAck(NodeId from,
                                                const std::string& context,
                                                const ProgressTracker& tracker);
  // Drops all requests (leadership lost).
  void Reset();

 private:
  struct Round {
    std::string context;
    Index index = 0;
    std::vector<std::string> reads;
    std::set<NodeId> acks;
  };
  std::optional<Round> round_;
  std::vector<std::string> queued_;
  // Never reset, so a stale echo can never match a later round.
  uint64_t next_round_id_ = 1;
};

}  // namespace shardkv::raft
