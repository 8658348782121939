// status, member add|promote|remove, leader transfer: through AdminClient.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include "client/admin_client.h"
#include "client/cli/cluster_commands.h"
#include "client/cli/commands.h"

namespace shardkv::cli {
namespace {

using client::AdminClient;

std::unique_ptr<AdminClient> ConnectAdmin(const GlobalOptions& global) {
  client::AdminOptions options;
  options.endpoints = global.endpoints;
  options.timeout = global.timeout;
  auto c = AdminClient::Create(options);
  if (!c.ok()) {
    std::cerr << "error: " << c.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(c).value();
}

const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_LEADER:
      return "leader";
    case v1::ROLE_FOLLOWER:
      return "follower";
    case v1::ROLE_CANDIDATE:
      return "candidate";
    case v1::ROLE_PRE_CANDIDATE:
      return "pre-candidate";
    case v1::ROLE_LEARNER:
      return "learner";
    default:
      return "unknown";
  }
}

void PrintMembers(const v1::MembershipResponse& r) {
  std::printf("%-4s %-22s %s\n", "ID", "ADDRESS", "KIND");
  for (const v1::Member& m : r.members()) {
    std::printf("%-4llu %-22s %s\n", static_cast<unsigned long long>(m.id()),
                m.address().c_str(), m.learner() ? "learner" : "voter");
  }
}

int Fail(const Status& status) {
  std::cerr << "error: " << status.ToString() << "\n";
  return kExitError;
}

}  // namespace

int RunStatus(const GlobalOptions& global) {
  GlobalOptions quick = global;
  // One slow replica should not hold the table up for the whole timeout.
  quick.timeout = std::min(global.timeout, std::chrono::milliseconds(2000));
  // A sharded cluster: the map and every shard's replicas. Otherwise (an
  // unsharded shard, or nothing answers) one row per replica as before.
  auto cluster = ConnectCluster(quick);
  if (cluster.ok() && cluster->controller) {
    PrintClusterStatus(global, *cluster);
    return kExitOk;
  }
  auto admin = ConnectAdmin(quick);
  if (!admin) return kExitError;
  std::printf("%-4s %-22s %-13s %-6s %-7s %-9s %-9s %s\n", "ID", "ADDRESS",
              "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "READY");
  int answered = 0;
  // The given endpoints first, then every member they report that was not
  // among them (a learner just added, a replica on another host).
  std::vector<std::string> queue = global.endpoints;
  std::set<std::string> seen(queue.begin(), queue.end());
  constexpr size_t kMaxRows = 64;
  for (size_t i = 0; i < queue.size(); ++i) {
    const std::string endpoint = queue[i];
    auto s = admin->Status(endpoint);
    if (!s.ok()) {
      std::printf("%-4s %-22s unreachable (%s)\n", "-", endpoint.c_str(),
                  s.status().ToString().c_str());
      continue;
    }
    ++answered;
    for (const v1::Member& m : s->members()) {
      if (!m.address().empty() && queue.size() < kMaxRows &&
          seen.insert(m.address()).second) {
        queue.push_back(m.address());
      }
    }
    std::string leader = s->leader_id() ? std::to_string(s->leader_id()) : "-";
    std::printf("%-4llu %-22s %-13s %-6llu %-7s %-9llu %-9llu %s\n",
                static_cast<unsigned long long>(s->id()), endpoint.c_str(),
                RoleName(s->role()), static_cast<unsigned long long>(s->term()),
                leader.c_str(),
                static_cast<unsigned long long>(s->commit_index()),
                static_cast<unsigned long long>(s->applied_index()),
                s->ready() ? "yes" : "no");
  }
  return answered > 0 ? kExitOk : kExitError;
}

int RunMember(const GlobalOptions& global, const MemberCommand& command) {
  auto admin = ConnectAdmin(global);
  if (!admin) return kExitError;
  StatusOr<v1::MembershipResponse> r = Internal("unreachable");
  switch (command.action) {
    case MemberCommand::Action::kAdd:
      r = admin->AddLearner(command.id, command.address);
      break;
    case MemberCommand::Action::kPromote:
      r = admin->Promote(command.id);
      break;
    case MemberCommand::Action::kRemove:
      r = admin->RemoveMember(command.id);
      break;
  }
  if (!r.ok()) return Fail(r.status());
  PrintMembers(*r);
  return kExitOk;
}

int RunLeaderTransfer(const GlobalOptions& global,
                      const LeaderTransferCommand& command) {
  auto admin = ConnectAdmin(global);
  if (!admin) return kExitError;
  auto r = admin->TransferLeader(command.id);
  if (!r.ok()) return Fail(r.status());
  std::cout << "OK leader=" << r->leader_id() << "\n";
  return kExitOk;
}

}  // namespace shardkv::cli
