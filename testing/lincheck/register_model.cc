#include "testing/lincheck/register_model.h"

namespace shardkv::lincheck {

uint32_t ValueInterner::Intern(const std::string& value) {
  auto [it, inserted] =
      ids_.try_emplace(value, static_cast<uint32_t>(ids_.size() + 1));
  return it->second;
}

uint32_t ValueInterner::Lookup(const std::string& value) const {
  auto it = ids_.find(value);
  return it == ids_.end() ? kNeverWritten : it->second;
}

ModelOp ToModelOp(const Operation& op, const ValueInterner& values) {
  ModelOp m;
  m.kind = op.input.kind;
  m.condition = op.input.condition;
  m.expected_version = op.input.expected_version;
  m.output = op.output;
  m.output.value.clear();
  if (op.input.kind == OpKind::kSet) {
    m.value = values.Lookup(op.input.value);
  } else if (op.input.kind == OpKind::kGet && op.output.found) {
    m.value = values.Lookup(op.output.value);
  }
  return m;
}

namespace {

bool ConditionHolds(const RegisterState& state, const ModelOp& op) {
  switch (op.condition) {
    case Condition::kNone:
      return true;
    case Condition::kIfAbsent:
      return !state.present;
    case Condition::kIfVersion:
      return state.present && state.version == op.expected_version;
  }
  return false;
}

bool StepGet(const RegisterState& state, const ModelOp& op,
             RegisterState* next) {
  *next = state;
  const OpOutput& out = op.output;
  if (out.outcome == Outcome::kUnknown) return true;
  if (out.outcome != Outcome::kOk) return false;
  if (out.found != state.present) return false;
  if (!out.found) return true;
  if (op.value == ValueInterner::kNeverWritten) return false;
  if (op.value != state.value) return false;
  return !out.version_known || out.version == state.version;
}

bool StepSet(const RegisterState& state, const ModelOp& op,
             RegisterState* next) {
  const bool applies = ConditionHolds(state, op);
  RegisterState written{true, op.value, state.present ? state.version + 1 : 1};
  switch (op.output.outcome) {
    case Outcome::kOk:
      *next = written;
      return applies && op.output.version == written.version;
    case Outcome::kConditionFailed:
      *next = state;
      return !applies;
    case Outcome::kUnknown:
      *next = applies ? written : state;
      return true;
  }
  return false;
}

bool StepDelete(const RegisterState& state, const ModelOp& op,
                RegisterState* next) {
  const bool applies = ConditionHolds(state, op);
  switch (op.output.outcome) {
    case Outcome::kOk:
      *next = RegisterState();
      return applies && op.output.deleted == state.present;
    case Outcome::kConditionFailed:
      *next = state;
      return !applies;
    case Outcome::kUnknown:
      *next = applies ? RegisterState() : state;
      return true;
  }
  return false;
}

}  // namespace

bool StepRegister(const RegisterState& state, const ModelOp& op,
                  RegisterState* next) {
  switch (op.kind) {
    case OpKind::kGet:
      return StepGet(state, op, next);
    case OpKind::kSet:
      return StepSet(state, op, next);
    case OpKind::kDelete:
      return StepDelete(state, op, next);
  }
  return false;
}

std::string DescribeState(const RegisterState& state) {
  if (!state.present) return "absent";
  return "value#" + std::to_string(state.value) + " v" +
         std::to_string(state.version);
}

}  // namespace shardkv::lincheck
