// Sequential specification of one key of the store: absent, or present with
// (value, version). A Set on an absent key creates version 1, a Set on a
// present key increments the version, a Delete makes the key absent (the
// next Set starts again at version 1). Conditional writes that fail have no
// effect.
//
// Values are interned to small integers per key (ValueInterner) so that
// model states are cheap to hash and compare in the checker's memo cache.
// Pure functions and value types; ValueInterner is not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "testing/lincheck/operation.h"

namespace shardkv::lincheck {

struct RegisterState {
  bool present = false;
  uint32_t value = 0;  // interned value id, meaningful when present
  uint64_t version = 0;

  bool operator==(const RegisterState&) const = default;
};

// An operation with its values interned; see ToModelOp().
struct ModelOp {
  OpKind kind = OpKind::kGet;
  Condition condition = Condition::kNone;
  uint64_t expected_version = 0;
  // Set: the written value. Get (found): the value read; a value that no
  // operation ever wrote gets an id that no state can hold.
  uint32_t value = 0;
  OpOutput output;  // value field unused; compare `value` instead
};

// Maps byte strings to dense ids. Id 0 is reserved for "never written".
class ValueInterner {
 public:
  static constexpr uint32_t kNeverWritten = 0;
  // Returns the id of `value`, assigning a new one if needed.
  uint32_t Intern(const std::string& value);
  // Returns the id of `value`, or kNeverWritten if it was never interned.
  uint32_t Lookup(const std::string& value) const;

 private:
  std::unordered_map<std::string, uint32_t> ids_;
};

// REQUIRES: all Set values of the same key were interned first.
ModelOp ToModelOp(const Operation& op, const ValueInterner& values);

// Applies `op` to `state`. Returns false when the recorded output is
// impossible from `state` (the op cannot be linearized here); otherwise sets
// *next to the state after the op. Unknown outcomes accept either result.
bool StepRegister(const RegisterState& state, const ModelOp& op,
                  RegisterState* next);

// "absent" or "value#3 v2" (interned value id and version).
std::string DescribeState(const RegisterState& state);

}  // namespace shardkv::lincheck
