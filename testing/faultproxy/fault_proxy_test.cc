#include "testing/faultproxy/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace shardkv::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A blocking loopback socket with a receive timeout; closes on destruction.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {
    if (fd_ >= 0) SetReceiveTimeout(milliseconds(300));
  }
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

  static Socket Connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return Socket(fd);
  }

  void SetReceiveTimeout(milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void Send(const std::string& s) {
    ASSERT_EQ(send(fd_, s.data(), s.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(s.size()));
  }
  // Reads until `n` bytes arrived, EOF, error or timeout. Returns what came.
  std::string Receive(size_t n) {
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      ssize_t r = recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (r <= 0) {
        last_recv_ = r;
        break;
      }
      out.append(buf, r);
    }
    return out;
  }
  // Whether the last Receive() stopped on EOF/reset rather than timeout.
  bool SawClose() const {
    return last_recv_ == 0 || (last_recv_ < 0 && errno != EAGAIN);
  }

 private:
  int fd_;
  ssize_t last_recv_ = 1;
};

// The proxy's target: a listening socket the test accepts from.
class Target {
 public:
  Target() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(listen_fd_, 16);
    socklen_t len = sizeof(a);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Target() { close(listen_fd_); }
  uint16_t port() const { return port_; }
  Socket Accept() { return Socket(accept(listen_fd_, nullptr, nullptr)); }

 private:
  int listen_fd_;
  uint16_t port_;
};

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FaultProxyOptions o;
    o.name = "proxy-test";
    o.target_port = target_.port();
    auto proxy = FaultProxy::Start(o);
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(*proxy);
  }

  // A connected (client, server) pair through the proxy, checked to pass.
  std::pair<Socket, Socket> ConnectedPair() {
    Socket client = Socket::Connect(proxy_->port());
    Socket server = target_.Accept();
    client.Send("ping");
    EXPECT_EQ(server.Receive(4), "ping");
    server.Send("pong");
    EXPECT_EQ(client.Receive(4), "pong");
    return {std::move(client), std::move(server)};
  }

  Target target_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, BytesPassBothWays) {
  auto [client, server] = ConnectedPair();
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i);
  client.Send(big);
  server.SetReceiveTimeout(milliseconds(3000));
  EXPECT_EQ(server.Receive(big.size()), big);
  EXPECT_EQ(proxy_->ConnectionCount(), 1u);
  EXPECT_GE(proxy_->BytesForwarded(), big.size() + 8);
  EXPECT_EQ(proxy_->address(), "127.0.0.1:" + std::to_string(proxy_->port()));
}

TEST_F(FaultProxyTest, EofIsPropagated) {
  auto [client, server] = ConnectedPair();
  shutdown(client.fd(), SHUT_WR);
  EXPECT_EQ(server.Receive(1), "");
  EXPECT_TRUE(server.SawClose());
  server.Send("bye");  // half-closed: the other direction still works
  EXPECT_EQ(client.Receive(3), "bye");
}

TEST_F(FaultProxyTest, BlackholeStopsTrafficOnExistingConnection) {
  auto [client, server] = ConnectedPair();
  proxy_->Drop();
  client.Send("lost");
  EXPECT_EQ(server.Receive(4), "");
  EXPECT_FALSE(server.SawClose());  // timed out: connection still open
  server.Send("lost");
  EXPECT_EQ(client.Receive(4), "");
  EXPECT_FALSE(client.SawClose());
  EXPECT_EQ(proxy_->ConnectionCount(), 1u);
  EXPECT_EQ(proxy_->BytesDropped(), 8u);
}

TEST_F(FaultProxyTest, BlackholeAcceptsNewConnectionsButForwardsNothing) {
  proxy_->Drop();
  Socket client = Socket::Connect(proxy_->port());
  client.Send("lost");
  Socket server = target_.Accept();
  EXPECT_EQ(server.Receive(4), "");
  EXPECT_FALSE(server.SawClose());
}

TEST_F(FaultProxyTest, HealClosesDamagedConnectionsAndNewOnesPass) {
  auto [client, server] = ConnectedPair();
  proxy_->Drop();
  client.Send("lost");
  EXPECT_EQ(server.Receive(4), "");
  proxy_->Pass();
  EXPECT_EQ(client.Receive(1), "");
  EXPECT_TRUE(client.SawClose());
  EXPECT_EQ(proxy_->ConnectionCount(), 0u);
  auto [client2, server2] = ConnectedPair();
  EXPECT_EQ(proxy_->ConnectionCount(), 1u);
}

TEST_F(FaultProxyTest, HealKeepsUndamagedConnections) {
  auto [client, server] = ConnectedPair();
  proxy_->Drop();
  proxy_->Pass();  // nothing was sent meanwhile
  client.Send("still");
  EXPECT_EQ(server.Receive(5), "still");
}

TEST_F(FaultProxyTest, OneWayDrop) {
  auto [client, server] = ConnectedPair();
  proxy_->Drop(Direction::kClientToTarget);
  client.Send("lost");
  EXPECT_EQ(server.Receive(4), "");
  server.Send("reply");
  EXPECT_EQ(client.Receive(5), "reply");

  proxy_->Pass();
  auto [client2, server2] = ConnectedPair();
  proxy_->Drop(Direction::kTargetToClient);
  client2.Send("request");
  EXPECT_EQ(server2.Receive(7), "request");
  server2.Send("lost");
  EXPECT_EQ(client2.Receive(4), "");
  EXPECT_FALSE(client2.SawClose());
}

TEST_F(FaultProxyTest, DelayHoldsEachChunk) {
  auto [client, server] = ConnectedPair();
  proxy_->SetDelay(milliseconds(300));
  server.SetReceiveTimeout(milliseconds(2000));
  const auto start = Clock::now();
  client.Send("slow");
  EXPECT_EQ(server.Receive(4), "slow");
  EXPECT_GE(Clock::now() - start, milliseconds(300));
  proxy_->Pass();
  const auto start2 = Clock::now();
  client.Send("fast");
  EXPECT_EQ(server.Receive(4), "fast");
  EXPECT_LT(Clock::now() - start2, milliseconds(250));
}

TEST_F(FaultProxyTest, ResetClosesAllConnections) {
  auto [c1, s1] = ConnectedPair();
  auto [c2, s2] = ConnectedPair();
  EXPECT_EQ(proxy_->ConnectionCount(), 2u);
  proxy_->ResetConnections();
  EXPECT_EQ(proxy_->ConnectionCount(), 0u);
  EXPECT_EQ(c1.Receive(1), "");
  EXPECT_TRUE(c1.SawClose());
  EXPECT_EQ(s2.Receive(1), "");
  EXPECT_TRUE(s2.SawClose());
  auto [c3, s3] = ConnectedPair();
}

TEST(FaultProxyStandaloneTest, DeadTargetClosesClient) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);  // bound but never listening: connections are refused
  FaultProxyOptions o;
  o.target_port = ntohs(a.sin_port);
  auto proxy = FaultProxy::Start(o);
  ASSERT_TRUE(proxy.ok());
  Socket client = Socket::Connect((*proxy)->port());
  EXPECT_EQ(client.Receive(1), "");
  EXPECT_TRUE(client.SawClose());
}

TEST(FaultProxyStandaloneTest, RejectsBadAddresses) {
  FaultProxyOptions o;
  o.target_host = "not-an-ip";
  EXPECT_FALSE(FaultProxy::Start(o).ok());
}

}  // namespace
}  // namespace shardkv::test
