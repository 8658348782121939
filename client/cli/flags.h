// A small command-line flag parser: `--name value`, `--name=value`,
// boolean `--name`, short aliases (`-v`), positional arguments, and `--` to
// end flags (so a value may start with '-'). Unknown flags, a missing value
// and a repeated flag are errors. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::cli {

struct FlagSpec {
  std::string name;  // without dashes: "ttl"
  bool takes_value = true;
  char short_name = 0;  // 'v' for -v; 0 for none
};

struct ParsedFlags {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // boolean flags map to ""

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
};

StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 const std::vector<FlagSpec>& specs);

// "42" -> 42; anything else (sign, junk, overflow) is an error naming
// `what`.
StatusOr<uint64_t> ParseUint(const std::string& text, const std::string& what);

// "a:1,b:2" -> {"a:1", "b:2"}; each item must look like host:port.
StatusOr<std::vector<std::string>> ParseEndpointList(const std::string& text);

}  // namespace shardkv::cli
