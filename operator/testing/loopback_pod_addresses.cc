#include "operator/testing/loopback_pod_addresses.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace shardkv::op::testing {
namespace {

// A port the kernel considers free now (bound to port 0, then released).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 17001;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 17001;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace

LoopbackPodAddresses::LoopbackPodAddresses() : port_(FreePort()) {}

std::string LoopbackPodAddresses::Address(const ShardedKV& kv,
                                          const std::string& set_name,
                                          int ordinal) const {
  return AddressOf(kv.ns, set_name, ordinal);
}

std::string LoopbackPodAddresses::PodAddress(
    const std::string& ns, const std::string& pod_name) const {
  size_t dash = pod_name.rfind('-');
  if (dash == std::string::npos) return "";
  return AddressOf(ns, pod_name.substr(0, dash),
                   std::atoi(pod_name.c_str() + dash + 1));
}

std::string LoopbackPodAddresses::AddressOf(const std::string& ns,
                                            const std::string& set_name,
                                            int ordinal) const {
  std::lock_guard lock(mu_);
  auto [it, added] = set_index_.try_emplace(
      ns + "/" + set_name, static_cast<int>(set_index_.size()) + 1);
  // 127.0.<set>.<ordinal + 1>: every pod its own host, one port for all.
  return "127.0." + std::to_string(it->second % 250) + "." +
         std::to_string(ordinal + 1) + ":" + std::to_string(port_);
}

}  // namespace shardkv::op::testing
