// Renders a closed-loop result as the bench summary: throughput overall and
// per operation type, latency percentiles, errors by code. Pure; thread-safe.
#pragma once

#include <string>

#include "client/bench/closed_loop.h"

namespace shardkv::bench {

std::string FormatReport(const LoopResult& result);

}  // namespace shardkv::bench
