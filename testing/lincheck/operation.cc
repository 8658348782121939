#include "testing/lincheck/operation.h"

#include <cstdio>
#include <utility>

namespace shardkv::lincheck {

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kGet:
      return "get";
    case OpKind::kSet:
      return "set";
    case OpKind::kDelete:
      return "delete";
  }
  return "?";
}

const char* ConditionName(Condition condition) {
  switch (condition) {
    case Condition::kNone:
      return "none";
    case Condition::kIfAbsent:
      return "if_absent";
    case Condition::kIfVersion:
      return "if_version";
  }
  return "?";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kConditionFailed:
      return "condition_failed";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string PrintableBytes(const std::string& bytes) {
  constexpr size_t kMaxShown = 40;
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > kMaxShown) {
    out += "...(" + std::to_string(bytes.size()) + " bytes)";
  }
  return out + "\"";
}

namespace {

std::string DescribeInput(const OpInput& in) {
  std::string s =
      std::string(OpKindName(in.kind)) + "(" + PrintableBytes(in.key);
  if (in.kind == OpKind::kSet) s += "," + PrintableBytes(in.value);
  if (in.condition == Condition::kIfAbsent) s += ",if_absent";
  if (in.condition == Condition::kIfVersion) {
    s += ",if_version=" + std::to_string(in.expected_version);
  }
  if (in.has_ttl) s += ",ttl";
  return s + ")";
}

std::string DescribeOutput(OpKind kind, const OpOutput& out) {
  if (out.outcome != Outcome::kOk) return OutcomeName(out.outcome);
  switch (kind) {
    case OpKind::kGet:
      if (!out.found) return "not_found";
      return PrintableBytes(out.value) +
             (out.version_known ? " v" + std::to_string(out.version) : "");
    case OpKind::kSet:
      return "ok v" + std::to_string(out.version);
    case OpKind::kDelete:
      return out.deleted ? "deleted" : "not_deleted";
  }
  return "?";
}

}  // namespace

std::string DescribeOp(const Operation& op) {
  std::string ret = op.return_ns == kNeverReturned
                        ? std::string("inf")
                        : std::to_string(op.return_ns);
  return "#" + std::to_string(op.id) + " c" + std::to_string(op.client) + " " +
         DescribeInput(op.input) + " -> " +
         DescribeOutput(op.input.kind, op.output) + " [" +
         std::to_string(op.call_ns) + "," + ret + "]";
}

OpInput GetInput(std::string key) {
  OpInput in;
  in.kind = OpKind::kGet;
  in.key = std::move(key);
  return in;
}

OpInput SetInput(std::string key, std::string value, Condition condition,
                 uint64_t expected_version) {
  OpInput in;
  in.kind = OpKind::kSet;
  in.key = std::move(key);
  in.value = std::move(value);
  in.condition = condition;
  in.expected_version = expected_version;
  return in;
}

OpInput DeleteInput(std::string key, Condition condition,
                    uint64_t expected_version) {
  OpInput in;
  in.kind = OpKind::kDelete;
  in.key = std::move(key);
  in.condition = condition;
  in.expected_version = expected_version;
  return in;
}

OpOutput GetFound(std::string value) {
  OpOutput out;
  out.found = true;
  out.value = std::move(value);
  return out;
}

OpOutput GetFoundVersion(std::string value, uint64_t version) {
  OpOutput out = GetFound(std::move(value));
  out.version_known = true;
  out.version = version;
  return out;
}

OpOutput GetNotFound() { return OpOutput(); }

OpOutput SetOk(uint64_t version) {
  OpOutput out;
  out.version = version;
  return out;
}

OpOutput DeleteOk(bool deleted) {
  OpOutput out;
  out.deleted = deleted;
  return out;
}

OpOutput ConditionFailed() {
  OpOutput out;
  out.outcome = Outcome::kConditionFailed;
  return out;
}

OpOutput UnknownOutcome() {
  OpOutput out;
  out.outcome = Outcome::kUnknown;
  return out;
}

}  // namespace shardkv::lincheck
