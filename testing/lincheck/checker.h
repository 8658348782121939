// Per-key linearizability checker for the versioned key-value register
// (model: register_model.h).
//
// Algorithm: Wing & Gong's backtracking search over the history's call and
// return events, with Lowe's memoization (a set of (linearized ops bitset,
// model state) pairs already explored; revisiting one cannot succeed where
// it failed before) — the "just-in-time linearization" form also used by
// Porcupine and Knossos. Linearizability is P-compositional, so each key's
// sub-history is checked on its own: small searches, per-key verdicts.
//
// Unknown outcomes (return time kNeverReturned) may linearize anywhere after
// their call, or never. Events at equal timestamps are treated as
// concurrent (calls sort before returns), which errs towards "linearizable".
//
// TTL: a key that received any write with has_ttl is excluded from checking
// (verdict kSkipped): expiry happens on the leader's clock, which the
// history does not record, so harnesses should use TTL on separate keys.
//
// Thread-safety: Check() is a pure function of its arguments.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "testing/lincheck/history.h"
#include "testing/lincheck/operation.h"

namespace shardkv::lincheck {

enum class Verdict {
  kLinearizable,
  kViolation,
  kTimeout,  // search budget exhausted: reported, never a pass
  kSkipped,  // excluded (TTL writes); not checked
};

const char* VerdictName(Verdict verdict);

struct KeyResult {
  std::string key;
  Verdict verdict = Verdict::kLinearizable;
  size_t op_count = 0;
  // kViolation: the longest linearizable prefix found, the state it reached
  // and the operations none of which could be linearized next. kTimeout and
  // kSkipped: the reason.
  std::string explanation;
};

struct CheckResult {
  // kViolation if any key has one, else kTimeout if any key timed out,
  // else kLinearizable (skipped keys do not affect it).
  Verdict verdict = Verdict::kLinearizable;
  std::vector<KeyResult> keys;  // sorted by key
  size_t violations = 0;
  size_t timeouts = 0;
  size_t skipped = 0;

  bool ok() const { return verdict == Verdict::kLinearizable; }
  // One line of counts plus the explanation of every violation and timeout.
  std::string Summary() const;
};

using Deadline = std::chrono::steady_clock::time_point;

CheckResult Check(const std::vector<Operation>& ops, Deadline deadline);
CheckResult Check(const History& history, Deadline deadline);

// Checks one key's operations (all ops must share the key).
KeyResult CheckKey(const std::vector<Operation>& ops, Deadline deadline);

}  // namespace shardkv::lincheck
