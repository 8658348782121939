#include "client/cli/playground_backend.h"

#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "client/admin_client.h"

namespace shardkv::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kStopGrace{10'000};

}  // namespace

std::vector<v1::Member> ToMembers(const std::vector<PlaygroundProcess>& group) {
  std::vector<v1::Member> members;
  for (const auto& p : group) {
    v1::Member m;
    m.set_id(p.id);
    m.set_address(p.address);
    members.push_back(m);
  }
  return members;
}

LocalProcesses::LocalProcesses(std::string node_binary, std::string dir,
                               PlaygroundLayout layout)
    : binary_(std::move(node_binary)),
      dir_(std::move(dir)),
      layout_(std::move(layout)) {}

LocalProcesses::~LocalProcesses() { StopAll(); }

std::string LocalProcesses::Name(const Key& key) const {
  std::string node = "node-" + std::to_string(key.second);
  if (key.first == 0) return "controller-" + std::to_string(key.second);
  if (!layout_.sharded()) return node;  // the unsharded layout of old
  return "shard-" + std::to_string(key.first) + "-" + node;
}

std::string LocalProcesses::PeersFlag(
    const std::vector<PlaygroundProcess>& group) const {
  std::string peers;
  for (const auto& p : group) {
    peers +=
        (peers.empty() ? "" : ",") + std::to_string(p.id) + "=" + p.address;
  }
  return peers;
}

Status LocalProcesses::StartLocked(const Key& key, const PlaygroundProcess& p) {
  if (stopped_) return Status(Code::kAborted, "the playground is stopping");
  if (running_.count(key)) return Status::Ok();
  auto r = std::make_unique<Running>();
  r->name = Name(key);
  const auto& group =
      key.first == 0 ? layout_.controllers : layout_.shards.at(key.first);
  std::vector<std::string> args = {
      "--id",    std::to_string(p.id), "--listen",   p.address,
      "--peers", PeersFlag(group),     "--data-dir", dir_ + "/" + r->name};
  if (p.join) args.push_back("--join");
  if (key.first == 0) {
    args.insert(args.end(), {"--role", "controller"});
    if (layout_.slot_count > 0) {
      args.insert(args.end(),
                  {"--slot-count", std::to_string(layout_.slot_count)});
    }
  } else if (layout_.sharded()) {
    std::string controllers;
    for (const auto& a : layout_.ControllerAddresses()) {
      controllers += (controllers.empty() ? "" : ",") + a;
    }
    args.insert(args.end(),
                {"--role", "shard", "--shard-id", std::to_string(key.first),
                 "--controller", controllers});
  }
  SHARDKV_RETURN_IF_ERROR(
      r->process.Start(binary_, args, dir_ + "/" + r->name + ".log"));
  running_[key] = std::move(r);
  return Status::Ok();
}

Status LocalProcesses::StartAll() {
  std::lock_guard lock(mu_);
  for (const auto& c : layout_.controllers) {
    SHARDKV_RETURN_IF_ERROR(StartLocked({0, c.id}, c));
  }
  for (const auto& [shard, replicas] : layout_.shards) {
    for (const auto& r : replicas) {
      SHARDKV_RETURN_IF_ERROR(StartLocked({shard, r.id}, r));
    }
  }
  return Status::Ok();
}

int LocalProcesses::Reap() {
  std::lock_guard lock(mu_);
  int alive = 0;
  for (auto& [key, r] : running_) {
    if (auto how = r->process.PollExit()) {
      std::cerr << "playground: " << r->name << " " << *how << "; see " << dir_
                << "/" << r->name << ".log\n";
    }
    if (r->process.running()) ++alive;
  }
  return alive;
}

std::vector<std::unique_ptr<LocalProcesses::Running>>
LocalProcesses::TakeLocked(const std::function<bool(const Key&)>& which) {
  std::vector<std::unique_ptr<Running>> taken;
  for (auto it = running_.begin(); it != running_.end();) {
    if (which(it->first)) {
      taken.push_back(std::move(it->second));
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

void LocalProcesses::StopEach(std::vector<std::unique_ptr<Running>> processes) {
  for (auto& r : processes) r->process.Signal(SIGTERM);
  for (auto& r : processes) {
    if (!r->process.running()) continue;
    std::cerr << "playground: " << r->name << " " << r->process.Stop(kStopGrace)
              << "\n";
  }
}

void LocalProcesses::StopAll() {
  std::vector<std::unique_ptr<Running>> all;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    // Shards first: they may still be handing data over.
    all = TakeLocked([](const Key& k) { return k.first != 0; });
    auto controllers = TakeLocked([](const Key&) { return true; });
    for (auto& c : controllers) all.push_back(std::move(c));
  }
  StopEach(std::move(all));
}

PlaygroundLayout LocalProcesses::layout() const {
  std::lock_guard lock(mu_);
  return layout_;
}

std::vector<std::string> LocalProcesses::ShardAddresses(
    orchestration::ShardId shard) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (auto it = layout_.shards.find(shard); it != layout_.shards.end()) {
    for (const auto& r : it->second) out.push_back(r.address);
  }
  return out;
}

StatusOr<std::string> LocalProcesses::NextAddressLocked() {
  for (int tries = 0; tries < 1000 && layout_.next_port < 65536; ++tries) {
    int port = layout_.next_port++;
    if (CheckPortFree(port).ok()) return "127.0.0.1:" + std::to_string(port);
  }
  return Status(Code::kResourceExhausted, "no free port found");
}

StatusOr<std::vector<v1::Member>> LocalProcesses::CreateShard(
    orchestration::ShardId shard) {
  std::lock_guard lock(mu_);
  if (!layout_.sharded()) {
    return FailedPrecondition("this playground has no controller");
  }
  if (!layout_.shards.count(shard)) {
    std::vector<PlaygroundProcess> group;
    for (int i = 1; i <= layout_.replicas; ++i) {
      auto address = NextAddressLocked();
      if (!address.ok()) return address.status();
      group.push_back({static_cast<uint64_t>(i), *address, false});
    }
    layout_.shards[shard] = group;
    // Recorded before it starts: a restart brings it back.
    SHARDKV_RETURN_IF_ERROR(SaveLayout(dir_, layout_));
  }
  for (const auto& r : layout_.shards[shard]) {
    SHARDKV_RETURN_IF_ERROR(StartLocked({shard, r.id}, r));
  }
  return ToMembers(layout_.shards[shard]);
}

Status LocalProcesses::DeleteShard(orchestration::ShardId shard) {
  std::vector<std::unique_ptr<Running>> doomed;
  {
    std::lock_guard lock(mu_);
    doomed = TakeLocked([&](const Key& k) { return k.first == shard; });
  }
  std::vector<std::string> names;
  for (const auto& r : doomed) names.push_back(r->name);
  StopEach(std::move(doomed));
  std::lock_guard lock(mu_);
  if (auto it = layout_.shards.find(shard); it != layout_.shards.end()) {
    for (const auto& r : it->second) names.push_back(Name({shard, r.id}));
    layout_.shards.erase(it);
  }
  std::error_code ec;
  for (const auto& name : names) fs::remove_all(dir_ + "/" + name, ec);
  return SaveLayout(dir_, layout_);
}

StatusOr<std::vector<v1::Member>> LocalProcesses::ShardReplicas(
    orchestration::ShardId shard) {
  std::lock_guard lock(mu_);
  auto it = layout_.shards.find(shard);
  if (it == layout_.shards.end()) {
    return NotFound("shard " + std::to_string(shard) + " does not run");
  }
  return ToMembers(it->second);
}

Status LocalProcesses::WaitShardReady(orchestration::ShardId shard,
                                      std::chrono::milliseconds timeout) {
  std::vector<std::string> addresses = ShardAddresses(shard);
  if (addresses.empty()) {
    return NotFound("shard " + std::to_string(shard) + " does not run");
  }
  client::AdminOptions options;
  options.endpoints = addresses;
  options.timeout = milliseconds(1000);
  auto admin = client::AdminClient::Create(options);
  if (!admin.ok()) return admin.status();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!abort_) {
    int ready = 0;
    bool leader = false;
    for (const auto& a : addresses) {
      auto s = (*admin)->Status(a);
      if (!s.ok()) continue;
      ready += s->ready() ? 1 : 0;
      leader = leader || s->role() == v1::ROLE_LEADER;
    }
    if (leader && ready == static_cast<int>(addresses.size())) {
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kDeadlineExceeded,
                    "shard " + std::to_string(shard) + " not ready; see " +
                        dir_ + "/shard-" + std::to_string(shard) + "-*.log");
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  return Status(Code::kAborted, "the playground is stopping");
}

StatusOr<v1::Member> LocalProcesses::CreateReplica(
    orchestration::ShardId shard, orchestration::ReplicaId id,
    orchestration::ReplicaId /*replaces: stopped later by DeleteReplica*/) {
  std::lock_guard lock(mu_);
  auto it = layout_.shards.find(shard);
  if (it == layout_.shards.end()) {
    return NotFound("shard " + std::to_string(shard) + " does not run");
  }
  PlaygroundProcess* found = nullptr;
  for (auto& r : it->second) found = r.id == id ? &r : found;
  if (found == nullptr) {
    auto address = NextAddressLocked();
    if (!address.ok()) return address.status();
    it->second.push_back({id, *address, true});
    found = &it->second.back();
    SHARDKV_RETURN_IF_ERROR(SaveLayout(dir_, layout_));
  }
  SHARDKV_RETURN_IF_ERROR(StartLocked({shard, id}, *found));
  return ToMembers({*found}).front();
}

void LocalProcesses::StopReplica(orchestration::ShardId shard,
                                 orchestration::ReplicaId id) {
  std::vector<std::unique_ptr<Running>> doomed;
  {
    std::lock_guard lock(mu_);
    doomed = TakeLocked(
        [&](const Key& k) { return k.first == shard && k.second == id; });
  }
  StopEach(std::move(doomed));
}

Status LocalProcesses::DeleteReplica(orchestration::ShardId shard,
                                     orchestration::ReplicaId id) {
  StopReplica(shard, id);
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::remove_all(dir_ + "/" + Name({shard, id}), ec);
  if (auto it = layout_.shards.find(shard); it != layout_.shards.end()) {
    std::erase_if(it->second,
                  [&](const PlaygroundProcess& p) { return p.id == id; });
  }
  return SaveLayout(dir_, layout_);
}

StatusOr<std::vector<orchestration::ReplicaId>>
LocalProcesses::ReplicasToUpgrade(orchestration::ShardId shard) {
  std::lock_guard lock(mu_);
  auto it = layout_.shards.find(shard);
  if (it == layout_.shards.end()) {
    return NotFound("shard " + std::to_string(shard) + " does not run");
  }
  std::vector<orchestration::ReplicaId> ids;
  for (const auto& r : it->second) ids.push_back(r.id);
  return ids;
}

Status LocalProcesses::RestartReplica(orchestration::ShardId shard,
                                      orchestration::ReplicaId id) {
  StopReplica(shard, id);
  std::lock_guard lock(mu_);
  auto it = layout_.shards.find(shard);
  if (it == layout_.shards.end()) {
    return NotFound("shard " + std::to_string(shard) + " does not run");
  }
  for (const auto& r : it->second) {
    if (r.id == id) return StartLocked({shard, id}, r);
  }
  return NotFound("replica " + std::to_string(id) + " of shard " +
                  std::to_string(shard) + " does not run");
}

}  // namespace shardkv::cli
