#include "testing/cluster/free_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <string>

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

std::string ReservationDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  dir += "/shardkv-test-ports";
  mkdir(dir.c_str(), 0777);  // EEXIST is fine
  chmod(dir.c_str(), 0777);
  return dir;
}

}  // namespace

bool ReservePortForThisProcess(uint16_t port) {
  static const std::string dir = ReservationDir();
  std::string path = dir + "/" + std::to_string(port);
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // cannot coordinate (read-only tmp): best effort
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  // Kept open on purpose: the lock lasts as long as this process.
  return true;
}

uint16_t FreePort() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;  // GUARDED_BY(mu)
  static std::mt19937 rng(std::random_device{}() ^ getpid());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(kLowest, kHighest);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint16_t port = static_cast<uint16_t>(pick(rng));
    if (handed_out.count(port) > 0 || !CanBind(port) ||
        !ReservePortForThisProcess(port)) {
      continue;
    }
    handed_out.insert(port);
    return port;
  }
  return 0;
}

}  // namespace shardkv::test
