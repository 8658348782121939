// Renders a benchmark result: the human summary (throughput overall and per
// operation type, latency percentiles, errors by code) and the same numbers
// as JSON for scripts (bench/compare.sh). Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "client/bench/closed_loop.h"

namespace shardkv::bench {

std::string FormatReport(const LoopResult& result);

// {"parameters": <parameters>, "measured_s": S,
//  "total": STATS, "operations": {"read": STATS, "update": STATS, ...}}
// where STATS = {"ops_per_s", "ok", "errors": {"UNAVAILABLE": n, ...},
//  "latency_ms": {"mean", "p50", "p99", "p99_9", "max"}}; operation types
// with neither successes nor errors are left out.
nlohmann::json ReportJson(const LoopResult& result,
                          const nlohmann::json& parameters);

}  // namespace shardkv::bench
