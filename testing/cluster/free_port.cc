#include "testing/cluster/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <set>

namespace shardkv::test {
namespace {

constexpr uint16_t kLowest = 20000;
constexpr uint16_t kHighest = 32767;

bool CanBind(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

}  // namespace

uint16_t FreePort() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;  // GUARDED_BY(mu)
  static std::mt19937 rng(std::random_device{}() ^ getpid());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(kLowest, kHighest);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint16_t port = static_cast<uint16_t>(pick(rng));
    if (handed_out.count(port) > 0 || !CanBind(port)) continue;
    handed_out.insert(port);
    return port;
  }
  return 0;
}

}  // namespace shardkv::test
