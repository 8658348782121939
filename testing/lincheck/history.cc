#include "testing/lincheck/history.h"

#include <cassert>
#include <chrono>
#include <utility>

namespace shardkv::lincheck {

int64_t History::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

History::OpId History::BeginOp(int client, OpInput input) {
  Operation op;
  op.client = client;
  op.input = std::move(input);
  op.output = UnknownOutcome();
  std::lock_guard<std::mutex> lock(mu_);
  op.id = ops_.size();
  op.call_ns = NowNs();  // under the lock: ids follow call order
  ops_.push_back(std::move(op));
  ended_.push_back(false);
  return ops_.back().id;
}

void History::EndOp(OpId id, OpOutput output) {
  const int64_t now = NowNs();
  std::lock_guard<std::mutex> lock(mu_);
  assert(id < ops_.size() && !ended_[id]);
  Operation& op = ops_[id];
  op.return_ns = output.outcome == Outcome::kUnknown ? kNeverReturned : now;
  op.output = std::move(output);
  ended_[id] = true;
}

History::OpId History::Add(Operation op) {
  std::lock_guard<std::mutex> lock(mu_);
  op.id = ops_.size();
  if (op.output.outcome == Outcome::kUnknown) op.return_ns = kNeverReturned;
  ops_.push_back(std::move(op));
  ended_.push_back(true);
  return ops_.back().id;
}

std::vector<Operation> History::Operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Operation> ops = ops_;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!ended_[i]) {
      ops[i].output = UnknownOutcome();
      ops[i].return_ns = kNeverReturned;
    }
  }
  return ops;
}

size_t History::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_.size();
}

}  // namespace shardkv::lincheck
