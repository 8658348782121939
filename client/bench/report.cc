#include "client/bench/report.h"

#include <cstdio>

namespace shardkv::bench {
namespace {

std::string Millis(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(us) / 1000.0);
  return buf;
}

std::string Line(const char* name, const OpStats& s, double seconds) {
  char buf[256];
  const Histogram& h = s.latency_us;
  std::snprintf(buf, sizeof(buf),
                "%-8s %10.0f ops/s  p50 %8s  p99 %8s  p99.9 %8s  max %8s ms"
                "  (%llu ok)\n",
                name, seconds > 0 ? static_cast<double>(s.ok) / seconds : 0.0,
                Millis(h.Percentile(0.5)).c_str(),
                Millis(h.Percentile(0.99)).c_str(),
                Millis(h.Percentile(0.999)).c_str(), Millis(h.max()).c_str(),
                static_cast<unsigned long long>(s.ok));
  return buf;
}

nlohmann::json StatsJson(const OpStats& s, double seconds) {
  const Histogram& h = s.latency_us;
  auto ms = [](uint64_t us) { return static_cast<double>(us) / 1000.0; };
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, n] : s.errors) errors[CodeName(code)] = n;
  return {
      {"ops_per_s", seconds > 0 ? static_cast<double>(s.ok) / seconds : 0.0},
      {"ok", s.ok},
      {"errors", errors},
      {"latency_ms",
       {{"mean", h.mean() / 1000.0},
        {"p50", ms(h.Percentile(0.5))},
        {"p99", ms(h.Percentile(0.99))},
        {"p99_9", ms(h.Percentile(0.999))},
        {"max", ms(h.max())}}}};
}

}  // namespace

nlohmann::json ReportJson(const LoopResult& result,
                          const nlohmann::json& parameters) {
  double seconds = result.measured.count();
  OpStats all;
  for (const OpStats& s : result.ops) all.Merge(s);
  nlohmann::json operations = nlohmann::json::object();
  for (int t = 0; t < kOpTypeCount; ++t) {
    if (result.ops[t].ok == 0 && result.ops[t].errors.empty()) continue;
    operations[OpTypeName(static_cast<OpType>(t))] =
        StatsJson(result.ops[t], seconds);
  }
  return {{"parameters", parameters},
          {"measured_s", seconds},
          {"total", StatsJson(all, seconds)},
          {"operations", operations}};
}

std::string FormatReport(const LoopResult& result) {
  double seconds = result.measured.count();
  OpStats all;
  for (const OpStats& s : result.ops) all.Merge(s);
  std::string out;
  char head[128];
  std::snprintf(head, sizeof(head), "measured %.1fs\n", seconds);
  out += head;
  out += Line("total", all, seconds);
  for (int t = 0; t < kOpTypeCount; ++t) {
    if (result.ops[t].ok == 0 && result.ops[t].errors.empty()) continue;
    out += Line(OpTypeName(static_cast<OpType>(t)), result.ops[t], seconds);
  }
  if (all.errors.empty()) {
    out += "errors   none\n";
  } else {
    out += "errors  ";
    for (const auto& [code, n] : all.errors) {
      out += " " + std::string(CodeName(code)) + "=" + std::to_string(n);
    }
    out += "\n";
  }
  return out;
}

}  // namespace shardkv::bench
