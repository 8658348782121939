// HealthServer answers the kubelet's probes over real loopback sockets.
#include "operator/cmd/health_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

namespace shardkv::op {
namespace {

// The status line of GET `path` on 127.0.0.1:port.
std::string Probe(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))) {
    close(fd);
    return "connect failed";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response.substr(0, response.find("\r\n"));
}

TEST(HealthServerTest, AnswersLivenessAndReadiness) {
  std::atomic<bool> ready{false};
  HealthServer server([&] { return ready.load(); });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(Probe(server.port(), "/healthz"), "HTTP/1.0 200 OK");
  EXPECT_EQ(Probe(server.port(), "/readyz"),
            "HTTP/1.0 503 Service Unavailable");
  ready = true;
  EXPECT_EQ(Probe(server.port(), "/readyz"), "HTTP/1.0 200 OK");
  EXPECT_EQ(Probe(server.port(), "/metrics"), "HTTP/1.0 404 Not Found");
  server.Stop();
  EXPECT_EQ(Probe(server.port(), "/healthz"), "connect failed");
}

TEST(HealthServerTest, BadAddressIsAnError) {
  HealthServer server([] { return true; });
  EXPECT_EQ(server.Start("nocolon").code(), Code::kInvalidArgument);
  HealthServer taken([] { return true; });
  ASSERT_TRUE(taken.Start("127.0.0.1:0").ok());
  HealthServer second([] { return true; });
  Status clash = second.Start("127.0.0.1:" + std::to_string(taken.port()));
  EXPECT_EQ(clash.code(), Code::kUnavailable);
  EXPECT_NE(clash.message().find("in use"), std::string::npos)
      << clash.message();
}

}  // namespace
}  // namespace shardkv::op
