#include "client/cli/command_line.h"

#include <cctype>
#include <cstdlib>
#include <functional>

#include "client/cli/flags.h"
#include "common/duration.h"

namespace shardkv::cli {
namespace {

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> flags = {
      {"endpoints", true}, {"timeout", true}, {"help", false, 'h'}};
  return flags;
}

std::vector<FlagSpec> With(std::vector<FlagSpec> specs) {
  for (const FlagSpec& g : GlobalFlags()) specs.push_back(g);
  return specs;
}

Status WantPositional(const ParsedFlags& f, size_t n, const std::string& cmd,
                      const std::string& usage) {
  if (f.positional.size() == n) return Status::Ok();
  return InvalidArgument("'" + cmd + "' takes " + usage + " (got " +
                         std::to_string(f.positional.size()) + " arguments)");
}

StatusOr<std::chrono::milliseconds> DurationFlag(const ParsedFlags& f,
                                                 const std::string& name,
                                                 std::chrono::milliseconds d) {
  auto text = f.Get(name);
  if (!text) return d;
  auto parsed = ParseDuration(*text);
  if (!parsed.ok()) {
    return InvalidArgument("--" + name + ": " + parsed.status().message());
  }
  return *parsed;
}

StatusOr<uint64_t> UintFlag(const ParsedFlags& f, const std::string& name,
                            uint64_t d) {
  auto text = f.Get(name);
  if (!text) return d;
  return ParseUint(*text, "--" + name);
}

StatusOr<Command> ParseGet(const ParsedFlags& f) {
  SHARDKV_RETURN_IF_ERROR(WantPositional(f, 1, "get", "KEY"));
  return Command(GetCommand{f.positional[0], f.Has("stale"), f.Has("verbose")});
}

StatusOr<Command> ParseSet(const ParsedFlags& f) {
  SHARDKV_RETURN_IF_ERROR(WantPositional(f, 2, "set", "KEY VALUE"));
  SetCommand c;
  c.key = f.positional[0];
  c.value = f.positional[1];
  auto ttl = DurationFlag(f, "ttl", c.ttl);
  if (!ttl.ok()) return ttl.status();
  c.ttl = *ttl;
  c.if_absent = f.Has("if-absent");
  if (f.Has("if-version")) {
    auto v = UintFlag(f, "if-version", 0);
    if (!v.ok()) return v.status();
    c.if_version = *v;
  }
  if (c.if_absent && c.if_version) {
    return InvalidArgument("--if-absent and --if-version are exclusive");
  }
  return Command(c);
}

StatusOr<Command> ParseDel(const ParsedFlags& f) {
  SHARDKV_RETURN_IF_ERROR(WantPositional(f, 1, "del", "KEY"));
  DelCommand c;
  c.key = f.positional[0];
  if (f.Has("if-version")) {
    auto v = UintFlag(f, "if-version", 0);
    if (!v.ok()) return v.status();
    c.if_version = *v;
  }
  return Command(c);
}

StatusOr<Command> ParseMember(const ParsedFlags& f) {
  const auto& p = f.positional;
  if (p.empty()) {
    return InvalidArgument("'member' needs add, promote or remove");
  }
  MemberCommand c;
  if (p[0] == "add") {
    if (p.size() != 3) return InvalidArgument("usage: member add ID ADDRESS");
    c.action = MemberCommand::Action::kAdd;
    c.address = p[2];
    if (c.address.find(':') == std::string::npos) {
      return InvalidArgument("ADDRESS '" + c.address + "' is not host:port");
    }
  } else if (p[0] == "promote" || p[0] == "remove") {
    if (p.size() != 2) return InvalidArgument("usage: member " + p[0] + " ID");
    c.action = p[0] == "promote" ? MemberCommand::Action::kPromote
                                 : MemberCommand::Action::kRemove;
  } else {
    return InvalidArgument("unknown 'member' action '" + p[0] +
                           "' (add, promote, remove)");
  }
  auto id = ParseUint(p[1], "ID");
  if (!id.ok()) return id.status();
  if (*id == 0) return InvalidArgument("ID must be positive");
  c.id = *id;
  return Command(c);
}

StatusOr<Command> ParseLeader(const ParsedFlags& f) {
  const auto& p = f.positional;
  if (p.empty() || p[0] != "transfer" || p.size() > 2) {
    return InvalidArgument("usage: leader transfer [ID]");
  }
  LeaderTransferCommand c;
  if (p.size() == 2) {
    auto id = ParseUint(p[1], "ID");
    if (!id.ok()) return id.status();
    c.id = *id;
  }
  return Command(c);
}

StatusOr<int> IntFlag(const ParsedFlags& f, const std::string& name, int d,
                      int lo, int hi) {
  auto v = UintFlag(f, name, static_cast<uint64_t>(d));
  if (!v.ok()) return v.status();
  if (*v < static_cast<uint64_t>(lo) || *v > static_cast<uint64_t>(hi)) {
    return InvalidArgument("--" + name + " must be in [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(*v);
}

StatusOr<Command> ParsePlayground(const ParsedFlags& f) {
  PlaygroundCommand c;
  if (f.positional.size() == 1 && f.positional[0] == "scale") {
    c.action = PlaygroundCommand::Action::kScale;
    for (const char* fixed :
         {"replicas", "controllers", "port", "slot-count"}) {
      if (f.Has(fixed)) {
        return InvalidArgument(std::string("playground scale: --") + fixed +
                               " is fixed when the playground starts");
      }
    }
    if (!f.Has("shards")) {
      return InvalidArgument("usage: playground scale --shards N");
    }
  } else {
    SHARDKV_RETURN_IF_ERROR(WantPositional(f, 0, "playground", "no arguments"));
  }
  auto shards = IntFlag(f, "shards", c.shards, 1, 64);
  if (!shards.ok()) return shards.status();
  auto replicas = IntFlag(f, "replicas", c.replicas, 1, 9);
  if (!replicas.ok()) return replicas.status();
  auto controllers = IntFlag(f, "controllers", c.controllers, 0, 3);
  if (!controllers.ok()) return controllers.status();
  if (*controllers == 2) {
    return InvalidArgument("--controllers must be 1 or 3 (0: no controller)");
  }
  if (*controllers == 0 && *shards != 1) {
    return InvalidArgument("--controllers 0 allows only --shards 1");
  }
  auto port = IntFlag(f, "port", c.base_port, 1, 65535 - *replicas + 1);
  if (!port.ok()) return port.status();
  auto slots = IntFlag(f, "slot-count", c.slot_count, 0, 65536);
  if (!slots.ok()) return slots.status();
  if ((*slots & (*slots - 1)) != 0) {
    return InvalidArgument("--slot-count must be a power of two");
  }
  c.slot_count = *slots;
  c.shards = *shards;
  c.replicas = *replicas;
  c.controllers = *controllers;
  c.base_port = *port;
  if (auto dir = f.Get("data-dir")) c.data_dir = *dir;
  if (c.data_dir.empty()) return InvalidArgument("--data-dir is empty");
  return Command(c);
}

StatusOr<Command> ParseBench(const ParsedFlags& f) {
  SHARDKV_RETURN_IF_ERROR(WantPositional(f, 0, "bench", "no arguments"));
  BenchCommand c;
  auto clients = IntFlag(f, "clients", c.clients, 1, 10'000);
  if (!clients.ok()) return clients.status();
  c.clients = *clients;
  auto duration = DurationFlag(f, "duration", c.duration);
  auto warmup = DurationFlag(f, "warmup", c.warmup);
  if (!duration.ok()) return duration.status();
  if (!warmup.ok()) return warmup.status();
  if (duration->count() <= 0) return InvalidArgument("--duration must be > 0");
  c.duration = *duration;
  c.warmup = *warmup;
  if (auto size = f.Get("value-size")) {
    auto parsed = ParseByteSize(*size);
    if (!parsed.ok()) return parsed.status();
    c.value_size = *parsed;
  }
  auto keys = UintFlag(f, "keys", c.keys);
  if (!keys.ok()) return keys.status();
  if (*keys == 0) return InvalidArgument("--keys must be positive");
  c.keys = *keys;
  if (auto ratio = f.Get("read-ratio")) {
    char* end = nullptr;
    c.read_ratio = std::strtod(ratio->c_str(), &end);
    if (ratio->empty() || *end != '\0' || !(c.read_ratio >= 0) ||
        c.read_ratio > 1) {
      return InvalidArgument("--read-ratio must be a number in [0, 1]");
    }
  }
  if (auto level = f.Get("consistency")) {
    if (*level != "linearizable" && *level != "stale") {
      return InvalidArgument("--consistency must be linearizable or stale");
    }
    c.stale = *level == "stale";
  }
  c.load = f.Has("load");
  if (auto target = f.Get("target")) {
    if (*target != "shardkv" && *target != "etcd" && *target != "redis") {
      return InvalidArgument("--target must be shardkv, etcd or redis");
    }
    c.target = *target;
  }
  if (auto records = f.Get("records")) {
    if (f.Has("keys")) return InvalidArgument("give --records or --keys");
    auto parsed = ParseUint(*records, "--records");
    if (!parsed.ok()) return parsed.status();
    if (*parsed == 0) return InvalidArgument("--records must be positive");
    c.keys = *parsed;
  }
  if (auto workload = f.Get("workload")) {
    if (workload->size() != 1 ||
        std::string("ABCDFabcdf").find((*workload)[0]) == std::string::npos) {
      return InvalidArgument("--workload must be A, B, C, D or F");
    }
    if (f.Has("read-ratio")) {
      return InvalidArgument("give --workload or --read-ratio");
    }
    c.workload =
        std::string(1, static_cast<char>(std::toupper((*workload)[0])));
  }
  if (auto d = f.Get("distribution")) {
    if (*d != "uniform" && *d != "zipfian" && *d != "latest") {
      return InvalidArgument(
          "--distribution must be uniform, zipfian or latest");
    }
    c.distribution = *d;
  }
  if (auto rate = f.Get("rate")) {
    char* end = nullptr;
    c.rate = std::strtod(rate->c_str(), &end);
    if (rate->empty() || *end != '\0' || !(c.rate > 0) || c.rate > 1e9) {
      return InvalidArgument("--rate must be a positive number of ops/s");
    }
  }
  if (auto json = f.Get("json")) {
    if (json->empty()) return InvalidArgument("--json needs a file name");
    c.json_path = *json;
  }
  auto batch = IntFlag(f, "batch", c.batch_in_flight, 0, 64);
  if (!batch.ok()) return batch.status();
  c.batch_in_flight = *batch;
  return Command(c);
}

struct CommandSpec {
  const char* name;
  std::vector<FlagSpec> flags;
  std::function<StatusOr<Command>(const ParsedFlags&)> parse;
};

// Wraps a parser returning one command struct into a Command parser.
template <typename T>
std::function<StatusOr<Command>(const ParsedFlags&)> As(
    StatusOr<T> (*parse)(const ParsedFlags&)) {
  return [parse](const ParsedFlags& f) -> StatusOr<Command> {
    auto c = parse(f);
    if (!c.ok()) return c.status();
    return Command(std::move(c).value());
  };
}

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      // Cluster commands (cluster_command_line.h).
      {"rebalance", {{"wait", false}, {"dry-run", false}}, As(ParseRebalance)},
      {"shard", {{"members"}, {"wait", false}}, As(ParseShard)},
      {"slot", {{"to"}, {"wait", false}}, As(ParseSlot)},
      {"map", {}, As(ParseMap)},
      {"get", {{"stale", false}, {"verbose", false, 'v'}}, ParseGet},
      {"set", {{"ttl"}, {"if-absent", false}, {"if-version"}}, ParseSet},
      {"del", {{"if-version"}}, ParseDel},
      {"status",
       {},
       [](const ParsedFlags& f) -> StatusOr<Command> {
         SHARDKV_RETURN_IF_ERROR(
             WantPositional(f, 0, "status", "no arguments"));
         return Command(StatusCommand{});
       }},
      {"member", {}, ParseMember},
      {"leader", {}, ParseLeader},
      {"playground",
       {{"shards"},
        {"replicas"},
        {"controllers"},
        {"data-dir"},
        {"port"},
        {"slot-count"}},
       ParsePlayground},
      {"bench",
       {{"clients"},
        {"duration"},
        {"warmup"},
        {"value-size"},
        {"keys"},
        {"read-ratio"},
        {"consistency"},
        {"load", false},
        {"target"},
        {"records"},
        {"workload"},
        {"distribution"},
        {"rate"},
        {"json"},
        {"batch"}},
       ParseBench},
  };
  return commands;
}

Status ApplyGlobals(const ParsedFlags& f, const std::string& env_endpoints,
                    GlobalOptions* global) {
  std::string endpoints = kDefaultEndpoints;
  if (!env_endpoints.empty()) endpoints = env_endpoints;
  if (auto e = f.Get("endpoints")) endpoints = *e;
  auto list = ParseEndpointList(endpoints);
  if (!list.ok()) return list.status();
  global->endpoints = *list;
  auto timeout = DurationFlag(f, "timeout", global->timeout);
  if (!timeout.ok()) return timeout.status();
  if (timeout->count() <= 0) return InvalidArgument("--timeout must be > 0");
  global->timeout = *timeout;
  return Status::Ok();
}

}  // namespace

StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                       const std::string& env_endpoints) {
  // Global flags may come before the command name; find the name first.
  size_t i = 0;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    bool with_value = args[i] == "--endpoints" || args[i] == "--timeout";
    i += with_value ? 2 : 1;
  }
  std::vector<std::string> rest(args.begin(),
                                args.begin() + std::min(i, args.size()));
  CommandLine out;
  if (i >= args.size() || args[i] == "help") {
    std::string topic = i + 1 < args.size() ? args[i + 1] : "";
    auto globals = ParseFlags(rest, GlobalFlags());
    if (!globals.ok()) return globals.status();
    out.command = HelpCommand{topic};
    return out;
  }
  const std::string& name = args[i];
  rest.insert(rest.end(), args.begin() + i + 1, args.end());
  for (const CommandSpec& spec : Commands()) {
    if (name != spec.name) continue;
    auto flags = ParseFlags(rest, With(spec.flags));
    if (!flags.ok()) {
      return InvalidArgument(name + ": " + flags.status().message());
    }
    if (flags->Has("help")) {
      out.command = HelpCommand{name};
      return out;
    }
    SHARDKV_RETURN_IF_ERROR(ApplyGlobals(*flags, env_endpoints, &out.global));
    auto command = spec.parse(*flags);
    if (!command.ok()) return command.status();
    out.command = std::move(command).value();
    return out;
  }
  return InvalidArgument("unknown command '" + name + "' (see shardkv help)");
}

}  // namespace shardkv::cli
