// Reading intent params in the workflow steps (internal to orchestration/).
// Pure functions; thread-safe.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

#include "orchestration/intent_store.h"

namespace shardkv::orchestration {

// 0 when the param is missing or not a number (progress baselines).
inline uint64_t ParamU64(const Intent& intent, const std::string& name) {
  auto it = intent.params.find(name);
  if (it == intent.params.end()) return 0;
  uint64_t v = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

// A param the step cannot run without.
inline StatusOr<uint64_t> RequiredU64(const Intent& intent,
                                      const std::string& name) {
  auto it = intent.params.find(name);
  uint64_t v = 0;
  if (it != intent.params.end()) {
    auto [end, ec] = std::from_chars(it->second.data(),
                                     it->second.data() + it->second.size(), v);
    if (ec == std::errc() && end == it->second.data() + it->second.size()) {
      return v;
    }
  }
  return InvalidArgument("intent param '" + name + "' missing or invalid");
}

// The same intent at another step (params kept).
inline Intent Next(const Intent& in, const std::string& step) {
  Intent out = in;
  out.step = step;
  return out;
}

}  // namespace shardkv::orchestration
