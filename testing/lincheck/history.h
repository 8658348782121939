// History: a thread-safe recorder of client operations for the
// linearizability checker. Each client thread calls BeginOp() just before
// sending a request and EndOp() after the reply; timestamps come from one
// monotonic clock (steady_clock), so histories recorded by several threads
// of one process merge correctly.
//
// Thread-safety: all methods may be called concurrently. Invariant: every
// recorded operation has call_ns <= return_ns; operations that were begun
// but never ended appear in Operations() with an unknown outcome.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "testing/lincheck/operation.h"

namespace shardkv::lincheck {

class History {
 public:
  using OpId = uint64_t;

  History() = default;
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Records the call of an operation now; returns its id for EndOp().
  OpId BeginOp(int client, OpInput input);
  // Records the result now. An output with Outcome::kUnknown gets return
  // time kNeverReturned (it may take effect at any later time, or never).
  // REQUIRES: id came from BeginOp() and was not ended yet.
  void EndOp(OpId id, OpOutput output);
  // Adds a complete operation with explicit timestamps (loaders, tests).
  // Its id is reassigned; returns the new id.
  OpId Add(Operation op);

  // A copy of all operations in id order; pending ones as unknown.
  std::vector<Operation> Operations() const;
  size_t size() const;

  // Nanoseconds on the clock BeginOp/EndOp use.
  static int64_t NowNs();

 private:
  mutable std::mutex mu_;
  std::vector<Operation> ops_;  // GUARDED_BY(mu_), index == id
  std::vector<bool> ended_;     // GUARDED_BY(mu_)
};

}  // namespace shardkv::lincheck
