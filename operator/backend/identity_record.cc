#include "operator/backend/identity_record.h"

#include <charconv>
#include <sstream>

namespace shardkv::op {
namespace {

constexpr char kReplicaPrefix[] = "replica-";
constexpr char kWipePrefix[] = "wipe-";

bool ParseNumber(const std::string& text, uint64_t* out) {
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "replica-2" with prefix "replica-" -> 2.
std::optional<int> OrdinalKey(const std::string& key,
                              const std::string& prefix) {
  if (key.rfind(prefix, 0) != 0) return std::nullopt;
  uint64_t ordinal = 0;
  if (!ParseNumber(key.substr(prefix.size()), &ordinal) || ordinal > 100000) {
    return std::nullopt;
  }
  return static_cast<int>(ordinal);
}

}  // namespace

IdentityRecord IdentityRecord::Initial(int replicas, std::string incarnation) {
  IdentityRecord record;
  for (int i = 0; i < replicas; ++i) {
    record.ids[i] = static_cast<uint64_t>(i) + 1;
    record.fresh.insert(static_cast<uint64_t>(i) + 1);
  }
  record.incarnation = std::move(incarnation);
  return record;
}

std::optional<int> IdentityRecord::OrdinalOf(uint64_t id) const {
  for (const auto& [ordinal, held] : ids) {
    if (held == id) return ordinal;
  }
  return std::nullopt;
}

Json IdentityRecord::ToData() const {
  Json data = Json::object();
  for (const auto& [ordinal, id] : ids) {
    data[kReplicaPrefix + std::to_string(ordinal)] = std::to_string(id);
  }
  for (const auto& [ordinal, id] : wipes) {
    data[kWipePrefix + std::to_string(ordinal)] = std::to_string(id);
  }
  std::string fresh_ids;
  for (uint64_t id : fresh) {
    fresh_ids += (fresh_ids.empty() ? "" : " ") + std::to_string(id);
  }
  data["fresh"] = fresh_ids;
  data["incarnation"] = incarnation;
  return data;
}

StatusOr<IdentityRecord> ParseIdentityRecord(const Json& data) {
  if (!data.is_object()) return InvalidArgument("identity record: no data");
  IdentityRecord record;
  for (const auto& [key, value] : data.items()) {
    if (!value.is_string()) {
      return InvalidArgument("identity record: " + key + " is not a string");
    }
    const std::string text = value.get<std::string>();
    uint64_t id = 0;
    if (auto ordinal = OrdinalKey(key, kReplicaPrefix)) {
      if (!ParseNumber(text, &id) || id == 0) {
        return InvalidArgument("identity record: " + key + "='" + text +
                               "' is not a Raft id");
      }
      record.ids[*ordinal] = id;
    } else if (auto wiped = OrdinalKey(key, kWipePrefix)) {
      if (!ParseNumber(text, &id) || id == 0) {
        return InvalidArgument("identity record: " + key + "='" + text +
                               "' is not a Raft id");
      }
      record.wipes[*wiped] = id;
    } else if (key == "fresh") {
      std::istringstream in(text);
      std::string word;
      while (in >> word) {
        if (!ParseNumber(word, &id) || id == 0) {
          return InvalidArgument("identity record: fresh holds '" + word + "'");
        }
        record.fresh.insert(id);
      }
    } else if (key == "incarnation") {
      record.incarnation = text;
    }
  }
  if (record.incarnation.empty()) {
    return InvalidArgument("identity record without an incarnation");
  }
  return record;
}

}  // namespace shardkv::op
