#include "testing/cluster/free_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

}  // namespace
}  // namespace shardkv::test
