#include "testing/lincheck/history_json.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

namespace shardkv::lincheck {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    }
  }
  return out + "\"";
}

// A scalar JSON value of the flat objects we write.
struct JsonScalar {
  enum class Type { kString, kNumber, kBool, kNull } type = Type::kNull;
  std::string text;  // string contents, or number digits
  bool boolean = false;
};

class FlatObjectParser {
 public:
  explicit FlatObjectParser(const std::string& s) : s_(s) {}

  StatusOr<std::map<std::string, JsonScalar>> Parse() {
    std::map<std::string, JsonScalar> fields;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    SkipSpace();
    if (Consume('}')) return fields;
    while (true) {
      SkipSpace();
      std::optional<std::string> name = ParseString();
      if (!name) return Error("expected a field name");
      SkipSpace();
      if (!Consume(':')) return Error("expected ':'");
      SkipSpace();
      std::optional<JsonScalar> value = ParseScalar();
      if (!value) return Error("bad value for field " + *name);
      fields[*name] = *value;
      SkipSpace();
      if (Consume('}')) break;
      if (!Consume(',')) return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != s_.size()) return Error("trailing characters");
    return fields;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument(what + " at column " + std::to_string(pos_ + 1));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::optional<std::string> ParseString() {
    if (!Consume('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      char esc = s_[pos_++];
      switch (esc) {
        case 'u': {
          if (pos_ + 4 > s_.size()) return std::nullopt;
          unsigned code = 0;
          const char* begin = s_.data() + pos_;
          auto [end, ec] = std::from_chars(begin, begin + 4, code, 16);
          if (ec != std::errc() || end != begin + 4 || code > 0xff) {
            return std::nullopt;  // we only write single bytes
          }
          out += static_cast<char>(code);
          pos_ += 4;
          break;
        }
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        default:
          out += esc;
          break;  // \" \\ \/
      }
    }
    if (!Consume('"')) return std::nullopt;
    return out;
  }
  std::optional<JsonScalar> ParseScalar() {
    JsonScalar v;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      std::optional<std::string> str = ParseString();
      if (!str) return std::nullopt;
      v.type = JsonScalar::Type::kString;
      v.text = *str;
      return v;
    }
    for (const char* word : {"true", "false", "null"}) {
      std::string w(word);
      if (s_.compare(pos_, w.size(), w) == 0) {
        pos_ += w.size();
        v.type =
            w == "null" ? JsonScalar::Type::kNull : JsonScalar::Type::kBool;
        v.boolean = w == "true";
        return v;
      }
    }
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() &&
           std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    v.type = JsonScalar::Type::kNumber;
    v.text = s_.substr(start, pos_ - start);
    return v;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

using Fields = std::map<std::string, JsonScalar>;

std::string GetString(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? "" : it->second.text;
}
// Missing, non-numeric or out-of-range values read as 0.
template <typename Int>
Int GetNumber(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.type != JsonScalar::Type::kNumber) return 0;
  const std::string& t = it->second.text;
  Int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size() ? v : 0;
}
int64_t GetInt(const Fields& f, const std::string& name) {
  return GetNumber<int64_t>(f, name);
}
uint64_t GetUint(const Fields& f, const std::string& name) {
  return GetNumber<uint64_t>(f, name);
}
bool GetBool(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  return it != f.end() && it->second.boolean;
}

template <typename Enum, size_t N>
std::optional<Enum> EnumFromName(const std::string& name,
                                 const Enum (&values)[N],
                                 const char* (*to_name)(Enum)) {
  for (Enum e : values) {
    if (name == to_name(e)) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string OperationToJson(const Operation& op) {
  const OpInput& in = op.input;
  const OpOutput& out = op.output;
  std::string ret = op.return_ns == kNeverReturned
                        ? std::string("null")
                        : std::to_string(op.return_ns);
  auto b = [](bool v) { return v ? std::string("true") : "false"; };
  return "{\"id\":" + std::to_string(op.id) +
         ",\"client\":" + std::to_string(op.client) + ",\"kind\":\"" +
         OpKindName(in.kind) + "\",\"key\":" + Quote(in.key) +
         ",\"value\":" + Quote(in.value) + ",\"condition\":\"" +
         ConditionName(in.condition) +
         "\",\"expected_version\":" + std::to_string(in.expected_version) +
         ",\"ttl\":" + b(in.has_ttl) + ",\"outcome\":\"" +
         OutcomeName(out.outcome) + "\",\"found\":" + b(out.found) +
         ",\"result_value\":" + Quote(out.value) +
         ",\"version_known\":" + b(out.version_known) +
         ",\"version\":" + std::to_string(out.version) +
         ",\"deleted\":" + b(out.deleted) +
         ",\"call_ns\":" + std::to_string(op.call_ns) +
         ",\"return_ns\":" + ret + "}";
}

StatusOr<Operation> OperationFromJson(const std::string& line) {
  StatusOr<Fields> parsed = FlatObjectParser(line).Parse();
  if (!parsed.ok()) return parsed.status();
  const Fields& f = *parsed;
  static constexpr OpKind kKinds[] = {OpKind::kGet, OpKind::kSet,
                                      OpKind::kDelete};
  static constexpr Condition kConditions[] = {
      Condition::kNone, Condition::kIfAbsent, Condition::kIfVersion};
  static constexpr Outcome kOutcomes[] = {
      Outcome::kOk, Outcome::kConditionFailed, Outcome::kUnknown};
  auto kind = EnumFromName(GetString(f, "kind"), kKinds, OpKindName);
  auto cond =
      EnumFromName(GetString(f, "condition"), kConditions, ConditionName);
  auto outcome = EnumFromName(GetString(f, "outcome"), kOutcomes, OutcomeName);
  if (!kind || !cond || !outcome) {
    return InvalidArgument("missing or unknown kind/condition/outcome");
  }
  Operation op;
  op.id = GetUint(f, "id");
  op.client = static_cast<int>(GetInt(f, "client"));
  op.input.kind = *kind;
  op.input.key = GetString(f, "key");
  op.input.value = GetString(f, "value");
  op.input.condition = *cond;
  op.input.expected_version = GetUint(f, "expected_version");
  op.input.has_ttl = GetBool(f, "ttl");
  op.output.outcome = *outcome;
  op.output.found = GetBool(f, "found");
  op.output.value = GetString(f, "result_value");
  op.output.version_known = GetBool(f, "version_known");
  op.output.version = GetUint(f, "version");
  op.output.deleted = GetBool(f, "deleted");
  op.call_ns = GetInt(f, "call_ns");
  auto ret = f.find("return_ns");
  op.return_ns = ret == f.end() || ret->second.type == JsonScalar::Type::kNull
                     ? kNeverReturned
                     : GetInt(f, "return_ns");
  if (op.return_ns < op.call_ns) {
    return InvalidArgument("return_ns is before call_ns");
  }
  return op;
}

Status WriteHistoryFile(const std::string& path,
                        const std::vector<Operation>& ops) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Internal("cannot open " + path + " for writing");
  for (const Operation& op : ops) out << OperationToJson(op) << "\n";
  out.flush();
  if (!out) return Internal("write to " + path + " failed");
  return Status::Ok();
}

StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  std::vector<Operation> ops;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    StatusOr<Operation> op = OperationFromJson(line);
    if (!op.ok()) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " +
                             op.status().message());
    }
    ops.push_back(std::move(*op));
  }
  return ops;
}

}  // namespace shardkv::lincheck
