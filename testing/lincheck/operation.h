// One client operation on the versioned key-value register, as recorded by a
// test: what was asked (OpInput), what came back (OpOutput) and when
// (call/return timestamps in nanoseconds from one monotonic clock).
//
// Plain value types; no synchronization. Invariant: call_ns <= return_ns, and
// return_ns == kNeverReturned exactly when output.outcome == kUnknown (the
// client does not know whether the operation took effect).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace shardkv::lincheck {

enum class OpKind { kGet, kSet, kDelete };

enum class Condition {
  kNone,       // unconditional
  kIfAbsent,   // Set only: apply only when the key is absent
  kIfVersion,  // Set/Delete: apply only when present with expected_version
};

enum class Outcome {
  kOk,               // the operation took effect (or the read returned)
  kConditionFailed,  // FAILED_PRECONDITION: no effect
  kUnknown,          // timeout/UNAVAILABLE after sending: maybe took effect
};

// Return time of an operation whose outcome is unknown.
inline constexpr int64_t kNeverReturned = std::numeric_limits<int64_t>::max();

struct OpInput {
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string value;  // Set only
  Condition condition = Condition::kNone;
  uint64_t expected_version = 0;  // kIfVersion only
  bool has_ttl = false;           // Set with a TTL: the key may expire
};

struct OpOutput {
  Outcome outcome = Outcome::kOk;
  // Get: whether the key was found, its value, and its version when the
  // client recorded it (version_known).
  bool found = false;
  std::string value;
  bool version_known = false;
  // Get (when version_known) and Set (kOk): the key's version.
  uint64_t version = 0;
  // Delete (kOk): whether a present key was removed.
  bool deleted = false;
};

struct Operation {
  uint64_t id = 0;
  int client = 0;  // recording thread/client, for printing only
  OpInput input;
  OpOutput output;
  int64_t call_ns = 0;
  int64_t return_ns = kNeverReturned;
};

const char* OpKindName(OpKind kind);
const char* ConditionName(Condition condition);
const char* OutcomeName(Outcome outcome);

// Short human-readable form, e.g.
//   "#12 c3 set(k1,\"v7\",if_version=4) -> ok v5 [1200,1350]".
std::string DescribeOp(const Operation& op);

// Printable form of a byte string: printable ASCII kept, others as \xNN,
// long strings truncated.
std::string PrintableBytes(const std::string& bytes);

// Convenience constructors for tests and harnesses.
OpInput GetInput(std::string key);
OpInput SetInput(std::string key, std::string value,
                 Condition condition = Condition::kNone,
                 uint64_t expected_version = 0);
OpInput DeleteInput(std::string key, Condition condition = Condition::kNone,
                    uint64_t expected_version = 0);
OpOutput GetFound(std::string value);
OpOutput GetFoundVersion(std::string value, uint64_t version);
OpOutput GetNotFound();
OpOutput SetOk(uint64_t version);
OpOutput DeleteOk(bool deleted);
OpOutput ConditionFailed();
OpOutput UnknownOutcome();

}  // namespace shardkv::lincheck
