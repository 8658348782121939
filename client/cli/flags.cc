#include "client/cli/flags.h"

#include <charconv>

namespace shardkv::cli {
namespace {

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs,
                         const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, char c) {
  for (const FlagSpec& s : specs) {
    if (s.short_name != 0 && s.short_name == c) return &s;
  }
  return nullptr;
}

bool LooksLikeFlag(const std::string& arg) {
  // "-" alone and negative numbers are values, not flags.
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !(arg[1] >= '0' && arg[1] <= '9');
}

}  // namespace

std::optional<std::string> ParsedFlags::Get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 const std::vector<FlagSpec>& specs) {
  ParsedFlags out;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || !LooksLikeFlag(arg)) {
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    const FlagSpec* spec = nullptr;
    if (arg[1] == '-') {
      name = arg.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      spec = FindLong(specs, name);
    } else if (arg.size() == 2) {
      spec = FindShort(specs, arg[1]);
      if (spec) name = spec->name;
    }
    if (!spec) return InvalidArgument("unknown flag '" + arg + "'");
    if (out.Has(name)) return InvalidArgument("flag --" + name + " repeated");
    if (!spec->takes_value) {
      if (inline_value) {
        return InvalidArgument("flag --" + name + " takes no value");
      }
      out.values[name] = "";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return InvalidArgument("flag --" + name + " needs a value");
      }
      inline_value = args[++i];
    }
    out.values[name] = *inline_value;
  }
  return out;
}

StatusOr<uint64_t> ParseUint(const std::string& text, const std::string& what) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgument(what + " must be a non-negative integer, got '" +
                           text + "'");
  }
  return v;
}

StatusOr<std::vector<std::string>> ParseEndpointList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 ||
        !ParseUint(item.substr(colon + 1), "port").ok()) {
      return InvalidArgument("endpoint '" + item + "' is not host:port (in '" +
                             text + "')");
    }
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace shardkv::cli
