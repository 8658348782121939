#include "testing/cluster/free_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

namespace shardkv::test {
namespace {

TEST(FreePortTest, PortsAreDistinctAndBindable) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 50; ++i) {
    uint16_t port = FreePort();
    ASSERT_NE(port, 0);
    EXPECT_GE(port, 20000);
    EXPECT_LE(port, 32767);
    EXPECT_TRUE(seen.insert(port).second) << port;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(FreePort());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(listen(fd, 1), 0);
  close(fd);
}

TEST(FreePortTest, AnotherProcessCannotTakeAPortHandedOutHere) {
  uint16_t port = FreePort();
  ASSERT_NE(port, 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A separate process (its own open of the lock file): refused.
    _exit(ReservePortForThisProcess(port) ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "port " << port << " taken twice";
}

}  // namespace
}  // namespace shardkv::test
