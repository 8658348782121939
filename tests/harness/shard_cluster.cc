#include "tests/harness/shard_cluster.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "testing/cluster/free_port.h"
#include "tests/harness/poll_wait.h"

namespace shardkv::test {
namespace {

std::string Loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

StatusOr<std::unique_ptr<client::AdminClient>> MakeAdmin(
    std::vector<std::string> endpoints, milliseconds timeout) {
  client::AdminOptions options;
  options.endpoints = std::move(endpoints);
  options.timeout = timeout;
  options.retry.attempt_timeout = std::min(timeout, milliseconds(2000));
  return client::AdminClient::Create(std::move(options));
}

}  // namespace

StatusOr<std::unique_ptr<ShardCluster>> ShardCluster::Start(
    ClusterOptions options) {
  auto dir = TempDir::Create("shardkv-" + options.name);
  if (!dir.ok()) return dir.status();
  std::unique_ptr<ShardCluster> cluster(
      new ShardCluster(options, std::move(dir).value()));
  const NodeId first = options.first_id;
  for (NodeId id = first; id < first + options.nodes; ++id) {
    uint16_t port = FreePort();
    if (port == 0) return Unavailable("no free port");
    cluster->nodes_[id].port = port;
    if (options.tmpfs_bytes > 0) {
      SHARDKV_RETURN_IF_ERROR(cluster->MountTmpfs(id));
    }
  }
  if (options.proxies) {
    for (auto& [from, from_node] : cluster->nodes_) {
      for (auto& [to, to_node] : cluster->nodes_) {
        if (from == to) continue;
        FaultProxyOptions po;
        po.name = "proxy" + std::to_string(from) + std::to_string(to);
        po.target_port = to_node.port;
        auto proxy = FaultProxy::Start(po);
        if (!proxy.ok()) return proxy.status();
        cluster->proxies_[{from, to}] = std::move(proxy).value();
      }
    }
  }
  for (auto& [id, node] : cluster->nodes_) {
    std::string peers;
    for (auto& [other, other_node] : cluster->nodes_) {
      std::string addr = Loopback(other_node.port);
      if (other != id && options.proxies) {
        addr = cluster->proxies_[{id, other}]->address();
      }
      if (!peers.empty()) peers += ",";
      peers += std::to_string(other) + "=" + addr;
    }
    std::vector<std::string> args = cluster->CommonFlags(id);
    args.push_back("--peers");
    args.push_back(peers);
    SHARDKV_RETURN_IF_ERROR(cluster->StartNode(id, std::move(args)));
  }
  auto status_client = MakeAdmin(cluster->addresses(), milliseconds(500));
  if (!status_client.ok()) return status_client.status();
  cluster->status_client_ = std::move(status_client).value();
  auto admin = MakeAdmin(cluster->addresses(), milliseconds(10000));
  if (!admin.ok()) return admin.status();
  cluster->admin_ = std::move(admin).value();
  return cluster;
}

ShardCluster::~ShardCluster() {
  for (auto& [id, node] : nodes_) {
    if (node.process) (void)node.process->Stop(std::chrono::seconds(5));
  }
  proxies_.clear();
  for (auto& [id, node] : nodes_) {
    if (!node.tmpfs_mounted) continue;
    // Lazy: a process that outlived Stop() must not keep the mount alive.
    if (umount2(node_dir(id).c_str(), MNT_DETACH) != 0) {
      SHARDKV_LOG(kWarning)
          << "harness: umount " << node_dir(id) << ": " << std::strerror(errno);
    }
  }
}

std::string ShardCluster::node_dir(NodeId id) const {
  return dir_.Join("node" + std::to_string(id));
}

Status ShardCluster::MountTmpfs(NodeId id) {
  std::string dir = node_dir(id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("mkdir " + dir + ": " + ec.message());
  std::string opts = "size=" + std::to_string(options_.tmpfs_bytes);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
    return FailedPrecondition("cannot mount a tmpfs on " + dir + ": " +
                              std::strerror(errno) +
                              " (disk-full tests need root)");
  }
  nodes_[id].tmpfs_mounted = true;
  return Status::Ok();
}

Status ShardCluster::FillDisk(NodeId id) {
  Node* node = Find(id);
  if (node == nullptr || !node->tmpfs_mounted) {
    return FailedPrecondition("node " + std::to_string(id) +
                              " has no tmpfs data dir");
  }
  std::string path = node_dir(id) + "/filler";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return Internal("open " + path + ": " + std::strerror(errno));
  SHARDKV_LOG(kInfo) << "harness: fill the disk of node " << id;
  // Write until ENOSPC: tmpfs then has no byte left for RocksDB.
  std::string block(1 << 16, '\0');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  int err = errno;
  close(fd);
  if (err != ENOSPC) {
    return Internal("filling " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status ShardCluster::FreeDisk(NodeId id) {
  std::string path = node_dir(id) + "/filler";
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Internal("unlink " + path + ": " + std::strerror(errno));
  }
  SHARDKV_LOG(kInfo) << "harness: free the disk of node " << id;
  return Status::Ok();
}

Status ShardCluster::WipeData(NodeId id) {
  if (IsRunning(id)) {
    return FailedPrecondition("node " + std::to_string(id) + " is running");
  }
  std::error_code ec;
  std::filesystem::remove_all(node_dir(id) + "/data", ec);
  if (ec)
    return Internal("wipe node " + std::to_string(id) + ": " + ec.message());
  SHARDKV_LOG(kInfo) << "harness: wiped the data dir of node " << id;
  return Status::Ok();
}

std::string ShardCluster::KeepFiles() {
  dir_.Keep();
  return dir_.path();
}

std::vector<std::string> ShardCluster::CommonFlags(NodeId id) const {
  const Node* node = Find(id);
  std::string addr = Loopback(node->port);
  std::vector<std::string> args = {
      "--id", std::to_string(id), "--listen", addr, "--advertise", addr,
      "--data-dir", dir_.Join("node" + std::to_string(id) + "/data"), "--tick",
      options_.tick, "--election-ticks",
      std::to_string(options_.election_ticks),
      // Unique per cluster (its temp dir's name): tests run in parallel on
      // random loopback ports, and a port one test's stopped node freed may
      // be taken by another test's node; its peers must refuse it.
      "--cluster-id", std::filesystem::path(dir_.path()).filename().string()};
  args.insert(args.end(), options_.extra_flags.begin(),
              options_.extra_flags.end());
  // SHARDKV_TEST_NODE_FLAGS="--classic-ready-loop" runs the whole suite
  // against another node configuration (space-separated flags).
  if (const char* env = std::getenv("SHARDKV_TEST_NODE_FLAGS")) {
    std::istringstream flags(env);
    for (std::string flag; flags >> flag;) args.push_back(flag);
  }
  return args;
}

Status ShardCluster::StartNode(NodeId id, std::vector<std::string> args) {
  ProcessOptions po;
  // SHARDKV_NODE_BINARY runs the tests against another build of the node
  // (e.g. the sanitizer build, or a copy that a rebuild cannot replace).
  const char* binary = std::getenv("SHARDKV_NODE_BINARY");
  po.binary = binary != nullptr && *binary != '\0' ? binary : SHARDKV_NODE_BIN;
  po.args = std::move(args);
  po.log_path = log_path(id);
  auto process = Process::Start(std::move(po));
  if (!process.ok()) return process.status();
  nodes_[id].process = std::move(process).value();
  return Status::Ok();
}

Status ShardCluster::StartJoining(NodeId id) {
  if (nodes_.contains(id)) {
    return InvalidArgument("node " + std::to_string(id) + " exists");
  }
  uint16_t port = FreePort();
  if (port == 0) return Unavailable("no free port");
  nodes_[id].port = port;
  if (options_.tmpfs_bytes > 0) SHARDKV_RETURN_IF_ERROR(MountTmpfs(id));
  std::vector<std::string> args = CommonFlags(id);
  args.push_back("--join");
  SHARDKV_RETURN_IF_ERROR(StartNode(id, std::move(args)));
  auto status_client = MakeAdmin(addresses(), milliseconds(500));
  if (!status_client.ok()) return status_client.status();
  status_client_ = std::move(status_client).value();
  return Status::Ok();
}

ShardCluster::Node* ShardCluster::Find(NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const ShardCluster::Node* ShardCluster::Find(NodeId id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<NodeId> ShardCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

std::string ShardCluster::address(NodeId id) const {
  const Node* node = Find(id);
  return node == nullptr ? "" : Loopback(node->port);
}

std::vector<std::string> ShardCluster::addresses(
    const std::vector<NodeId>& ids) const {
  std::vector<std::string> out;
  for (NodeId id : ids.empty() ? this->ids() : ids) out.push_back(address(id));
  return out;
}

std::string ShardCluster::log_path(NodeId id) const {
  return dir_.Join("node" + std::to_string(id) + ".log");
}

bool ShardCluster::IsRunning(NodeId id) {
  Node* node = Find(id);
  return node != nullptr && node->process && node->process->IsRunning();
}

#define SHARDKV_NODE_OR_RETURN(node, id)              \
  Node* node = Find(id);                              \
  if (node == nullptr || !node->process) {            \
    return NotFound("no node " + std::to_string(id)); \
  }

Status ShardCluster::Kill(NodeId id) {
  SHARDKV_NODE_OR_RETURN(node, id);
  SHARDKV_LOG(kInfo) << "harness: kill -9 node " << id;
  return node->process->Kill();
}

Status ShardCluster::Stop(NodeId id) {
  SHARDKV_NODE_OR_RETURN(node, id);
  SHARDKV_LOG(kInfo) << "harness: SIGTERM node " << id;
  return node->process->Stop();
}

Status ShardCluster::Pause(NodeId id) {
  SHARDKV_NODE_OR_RETURN(node, id);
  SHARDKV_LOG(kInfo) << "harness: SIGSTOP node " << id;
  return node->process->Pause();
}

Status ShardCluster::Resume(NodeId id) {
  SHARDKV_NODE_OR_RETURN(node, id);
  SHARDKV_LOG(kInfo) << "harness: SIGCONT node " << id;
  return node->process->Resume();
}

Status ShardCluster::Restart(NodeId id) {
  SHARDKV_NODE_OR_RETURN(node, id);
  SHARDKV_LOG(kInfo) << "harness: restart node " << id;
  return node->process->Restart();
}

Status ShardCluster::DropLinks(const std::string& what,
                               bool (*cut)(NodeId from, NodeId to, NodeId id),
                               NodeId id) {
  if (proxies_.empty()) {
    return FailedPrecondition("cluster started without proxies");
  }
  SHARDKV_LOG(kInfo) << "harness: " << what << " " << id;
  for (auto& [link, proxy] : proxies_) {
    if (cut(link.first, link.second, id)) proxy->Drop(Direction::kBoth);
  }
  return Status::Ok();
}

Status ShardCluster::Partition(NodeId id) {
  return DropLinks(
      "partition node",
      [](NodeId from, NodeId to, NodeId n) { return from == n || to == n; },
      id);
}

Status ShardCluster::PartitionOutgoing(NodeId id) {
  return DropLinks(
      "cut the links from node",
      [](NodeId from, NodeId, NodeId n) { return from == n; }, id);
}

Status ShardCluster::PartitionIncoming(NodeId id) {
  return DropLinks(
      "cut the links to node",
      [](NodeId, NodeId to, NodeId n) { return to == n; }, id);
}

void ShardCluster::HealAll() {
  SHARDKV_LOG(kInfo) << "harness: heal all links";
  for (auto& [link, proxy] : proxies_) proxy->Pass();
}

StatusOr<v1::StatusResponse> ShardCluster::NodeStatus(NodeId id) {
  return status_client_->Status(address(id));
}

StatusOr<NodeId> ShardCluster::WaitForLeader(milliseconds timeout,
                                             const std::vector<NodeId>& voters,
                                             const std::set<NodeId>& excluded) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::map<NodeId, v1::StatusResponse> st;
    for (NodeId id : voters) {
      if (!IsRunning(id)) continue;
      auto s = NodeStatus(id);
      if (s.ok()) st[id] = *s;
    }
    last.clear();
    for (const auto& [id, s] : st) {
      last += " " + std::to_string(id) + ":" + v1::Role_Name(s.role()) + "/t" +
              std::to_string(s.term()) + "/l" + std::to_string(s.leader_id());
      if (s.role() != v1::ROLE_LEADER || excluded.contains(id)) continue;
      size_t agree = 0;
      for (const auto& [other, o] : st) {
        if (o.leader_id() == id && o.term() == s.term()) ++agree;
      }
      if (agree * 2 > voters.size()) return id;
    }
    PollWait(milliseconds(50));
  }
  return Unavailable("no leader agreed by a majority within " +
                     std::to_string(timeout.count()) + " ms; last:" + last);
}

Status ShardCluster::WaitConverged(milliseconds timeout,
                                   const std::vector<NodeId>& ids) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  int stable = 0;
  uint64_t stable_index = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    bool same = true;
    uint64_t applied = 0;
    uint64_t leader = 0;
    last.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      auto s = NodeStatus(ids[i]);
      if (!s.ok()) {
        last += " " + std::to_string(ids[i]) + ":" + s.status().ToString();
        same = false;
        continue;
      }
      last += " " + std::to_string(ids[i]) +
              ":applied=" + std::to_string(s->applied_index()) +
              "/commit=" + std::to_string(s->commit_index()) +
              "/leader=" + std::to_string(s->leader_id()) +
              "/last=" + std::to_string(s->last_log_index());
      // The leader's view of each member, for a diagnosis when it fails.
      if (s->leader_id() == ids[i]) {
        last += "/match=";
        for (const v1::Member& m : s->members()) {
          last += std::to_string(m.id()) + "@" +
                  std::to_string(m.match_index()) + ",";
        }
      }
      if (i == 0) {
        applied = s->applied_index();
        leader = s->leader_id();
      }
      if (s->applied_index() != applied || s->commit_index() != applied ||
          s->leader_id() != leader || leader == 0) {
        same = false;
      }
    }
    if (same && stable > 0 && applied == stable_index) return Status::Ok();
    stable = same ? 1 : 0;
    stable_index = applied;
    PollWait(milliseconds(200));
  }
  return Unavailable("replicas did not converge within " +
                     std::to_string(timeout.count()) + " ms; last:" + last);
}

}  // namespace shardkv::test
