#include "node/raft/read_only.h"

#include <utility>

#include "node/raft/progress.h"

namespace shardkv::raft {

std::string ReadOnly::StartRound(Index commit_index, NodeId self) {
  Round round;
  round.context = "read-round-" + std::to_string(next_round_id_++);
  round.index = commit_index;
  round.reads = std::move(queued_);
  round.acks.insert(self);
  queued_.clear();
  round_ = std::move(round);
  return round_->context;
}

std::string ReadOnly::InFlightContext() const {
  return round_ ? round_->context : std::string();
}

std::optional<std::vector<ReadState>> ReadOnly::RecvAck(
    NodeId from, const std::string& context, const ProgressTracker& tracker) {
  if (!round_ || round_->context != context) return std::nullopt;
  round_->acks.insert(from);
  if (!tracker.HasQuorum({round_->acks.begin(), round_->acks.end()})) {
    return std::nullopt;
  }
  std::vector<ReadState> released;
  for (std::string& ctx : round_->reads) {
    released.push_back(ReadState{round_->index, std::move(ctx)});
  }
  round_.reset();
  return released;
}

void ReadOnly::Reset() {
  round_.reset();
  queued_.clear();
}

}  // namespace shardkv::raft
