#include "common/failpoint.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace shardkv::failpoint {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, Action, std::less<>> actions;  // GUARDED_BY(mu)
  std::mt19937_64 rng;                                 // GUARDED_BY(mu)
};

StatusOr<double> ParsePercent(std::string_view text) {
  if (text.empty() || text.back() != '%') {
    return InvalidArgument("failpoint: '" + std::string(text) +
                           "' is not a percentage like 5%");
  }
  double p = std::strtod(std::string(text.substr(0, text.size() - 1)).c_str(),
                         nullptr);
  if (p <= 0 || p > 100) {
    return InvalidArgument("failpoint: percentage must be in (0, 100]");
  }
  return p / 100.0;
}

Registry& TheRegistry();

Status ConfigureLocked(Registry& r, std::string_view spec) {
  std::map<std::string, Action, std::less<>> parsed;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(';', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return InvalidArgument("failpoint: '" + std::string(item) +
                             "' is not NAME=ACTION");
    }
    auto action = ParseAction(item.substr(eq + 1));
    if (!action.ok()) return action.status();
    parsed[std::string(item.substr(0, eq))] = *action;
  }
  r.actions = std::move(parsed);
  return Status::Ok();
}

Registry& TheRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    const char* seed = std::getenv("SHARDKV_FAILPOINT_SEED");
    r->rng.seed(seed != nullptr ? std::strtoull(seed, nullptr, 10)
                                : static_cast<uint64_t>(getpid()));
    if (const char* spec = std::getenv("SHARDKV_FAILPOINTS")) {
      Status s = ConfigureLocked(*r, spec);
      if (!s.ok()) {
        std::string line = s.message() + "\n";
        (void)!write(2, line.data(), line.size());
        std::_Exit(2);
      }
    }
    return r;
  }();
  return *registry;
}

}  // namespace

StatusOr<Action> ParseAction(std::string_view text) {
  Action a;
  if (text == "off") return a;
  if (text == "crash") {
    a.kind = Action::kCrash;
    return a;
  }
  auto args_of = [&](std::string_view prefix) -> std::string_view {
    if (text.substr(0, prefix.size()) != prefix || text.back() != ')') {
      return {};
    }
    return text.substr(prefix.size(), text.size() - prefix.size() - 1);
  };
  if (std::string_view args = args_of("crash("); !args.empty()) {
    a.kind = Action::kCrash;
    auto p = ParsePercent(args);
    if (!p.ok()) return p.status();
    a.probability = *p;
    return a;
  }
  if (std::string_view args = args_of("sleep("); !args.empty()) {
    a.kind = Action::kSleep;
    std::string_view ms = args.substr(0, args.find(','));
    auto [ptr, ec] =
        std::from_chars(ms.data(), ms.data() + ms.size(), a.sleep_ms);
    if (ec != std::errc() || ptr != ms.data() + ms.size() || a.sleep_ms < 0) {
      return InvalidArgument("failpoint: sleep needs milliseconds, not '" +
                             std::string(ms) + "'");
    }
    if (size_t comma = args.find(','); comma != std::string_view::npos) {
      auto p = ParsePercent(args.substr(comma + 1));
      if (!p.ok()) return p.status();
      a.probability = *p;
    }
    return a;
  }
  return InvalidArgument("failpoint: unknown action '" + std::string(text) +
                         "' (crash, crash(P%), sleep(MS), sleep(MS,P%), off)");
}

Status Configure(std::string_view spec) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  return ConfigureLocked(r, spec);
}

void Evaluate(std::string_view name) {
  Registry& r = TheRegistry();
  Action action;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.actions.empty()) return;
    auto it = r.actions.find(name);
    if (it == r.actions.end() || it->second.kind == Action::kOff) return;
    action = it->second;
    if (action.probability < 1.0 && std::uniform_real_distribution<double>(
                                        0, 1)(r.rng) >= action.probability) {
      return;
    }
  }
  std::string line = "failpoint " + std::string(name) + ": " +
                     (action.kind == Action::kCrash
                          ? std::string("crash")
                          : "sleep " + std::to_string(action.sleep_ms) + "ms") +
                     "\n";
  (void)!write(2, line.data(), line.size());
  if (action.kind == Action::kCrash) std::_Exit(86);
  std::this_thread::sleep_for(std::chrono::milliseconds(action.sleep_ms));
}

}  // namespace shardkv::failpoint
