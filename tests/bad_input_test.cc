// Bad input against real nodes: limit violations get INVALID_ARGUMENT with
// the right ErrorDetail reason and limits; garbage bytes, an HTTP/1
// request and half-open connections on the gRPC port are refused without
// disturbing the node. After each, a Set and a Get still work.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "client/error_detail.h"
#include "shardkv/v1/kv.grpc.pb.h"
#include "tests/harness/cluster_test.h"

namespace shardkv::test {
namespace {

std::unique_ptr<v1::KV::Stub> Stub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return v1::KV::NewStub(grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args));
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return c;
}

// INVALID_ARGUMENT with `reason` in the ErrorDetail, and a message.
void ExpectInvalid(const grpc::Status& s, v1::ErrorReason reason,
                   const std::string& what) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << what << ": " << s.error_code() << " " << s.error_message();
  EXPECT_FALSE(s.error_message().empty()) << what;
  auto detail = client::DecodeErrorDetail(s);
  ASSERT_TRUE(detail.has_value()) << what << ": no ErrorDetail";
  EXPECT_EQ(detail->reason(), reason)
      << what << ": " << v1::ErrorReason_Name(detail->reason());
}

grpc::Status Set(v1::KV::Stub& stub, const std::string& key,
                 const std::string& value, uint64_t if_version = 0,
                 bool use_if_version = false) {
  v1::SetRequest req;
  req.set_key(key);
  req.set_value(value);
  if (use_if_version) req.set_if_version(if_version);
  v1::SetResponse resp;
  return stub.Set(Context().get(), req, &resp);
}

// The node still takes a write and returns it.
void ExpectServing(const std::string& address, const std::string& what) {
  auto stub = Stub(address);
  std::string value = "alive-after-" + what;
  grpc::Status s = Set(*stub, "probe", value);
  ASSERT_TRUE(s.ok()) << "Set after " << what << ": " << s.error_message();
  v1::GetRequest req;
  req.set_key("probe");
  v1::GetResponse resp;
  s = stub->Get(Context().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << "Get after " << what << ": " << s.error_message();
  EXPECT_EQ(resp.value(), value) << what;
}

int Connect(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port =
      htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes (true) or `timeout` passes (false); what was
// received is appended to *received.
bool ReadUntilClosed(int fd, milliseconds timeout, std::string* received) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return true;  // EOF or reset: the server closed it
    received->append(buf, static_cast<size_t>(n));
  }
  return false;
}

// Sends `bytes` on a fresh connection and expects the server to close it.
void ExpectConnectionRefused(const std::string& address,
                             const std::string& bytes,
                             const std::string& what) {
  int fd = Connect(address);
  ASSERT_GE(fd, 0) << what << ": connect failed";
  ssize_t sent = write(fd, bytes.data(), bytes.size());
  EXPECT_GT(sent, 0) << what;
  std::string received;
  bool closed = ReadUntilClosed(fd, milliseconds(10000), &received);
  close(fd);
  EXPECT_TRUE(closed) << what << ": the server kept the connection open";
  std::printf("%s: server answered %zu bytes, then closed\n", what.c_str(),
              received.size());
}

class BadInputTest : public ClusterTest {};

TEST_F(BadInputTest, LimitsAndGarbageOnSmallValueLimit) {
  ClusterOptions options;
  options.extra_flags = {"--max-value-bytes", "64KiB"};
  NodeId leader = StartCluster(options);
  ASSERT_NE(leader, 0u);
  const std::string address = cluster_->address(leader);
  auto stub = Stub(address);

  ExpectInvalid(Set(*stub, "", "v"), v1::KEY_EMPTY, "set empty key");
  {
    v1::GetRequest req;
    v1::GetResponse resp;
    ExpectInvalid(stub->Get(Context().get(), req, &resp), v1::KEY_EMPTY,
                  "get empty key");
    v1::DeleteRequest dreq;
    v1::DeleteResponse dresp;
    ExpectInvalid(stub->Delete(Context().get(), dreq, &dresp), v1::KEY_EMPTY,
                  "delete empty key");
  }
  grpc::Status s = Set(*stub, std::string(257, 'k'), "v");
  ExpectInvalid(s, v1::KEY_TOO_LARGE, "257-byte key");
  auto detail = client::DecodeErrorDetail(s);
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->limit(), 256u);
  EXPECT_EQ(detail->actual(), 257u);
  EXPECT_TRUE(Set(*stub, std::string(256, 'k'), "v").ok()) << "256-byte key";

  s = Set(*stub, "big", std::string(64 * 1024 + 1, 'v'));
  ExpectInvalid(s, v1::VALUE_TOO_LARGE, "value of 64KiB + 1");
  detail = client::DecodeErrorDetail(s);
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->limit(), 64u * 1024);
  EXPECT_EQ(detail->actual(), 64u * 1024 + 1);
  EXPECT_TRUE(Set(*stub, "big", std::string(64 * 1024, 'v')).ok())
      << "value of exactly 64KiB";

  ExpectInvalid(Set(*stub, "k", "v", 0, true), v1::INVALID_REQUEST,
                "set if_version 0");
  {
    v1::DeleteRequest req;
    req.set_key("k");
    req.set_if_version(0);
    v1::DeleteResponse resp;
    ExpectInvalid(stub->Delete(Context().get(), req, &resp),
                  v1::INVALID_REQUEST, "delete if_version 0");
  }
  // The client library surfaces the same as kInvalidArgument.
  {
    client::ClientOptions co;
    co.endpoints = cluster_->addresses();
    auto c = client::Client::Create(co);
    ASSERT_TRUE(c.ok());
    auto r = (*c)->Set("", "v");
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
        << r.status().ToString();
  }
  ExpectServing(address, "limit violations");

  std::mt19937_64 rng(77);
  std::string garbage(4096, '\0');
  for (char& ch : garbage) ch = static_cast<char>(rng());
  ExpectConnectionRefused(address, garbage, "garbage bytes");
  ExpectServing(address, "garbage");
  ExpectConnectionRefused(
      address, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      "HTTP/1 request");
  ExpectServing(address, "http1");

  // Half-open connections: one silent, one stopped inside the HTTP/2
  // preface, one that half-closed its sending side. The node must keep
  // serving while they stay open.
  int silent = Connect(address);
  int partial = Connect(address);
  int half_closed = Connect(address);
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  ASSERT_GE(half_closed, 0);
  const std::string preface_start = "PRI * HTTP/2.0\r\n";
  EXPECT_GT(write(partial, preface_start.data(), preface_start.size()), 0);
  shutdown(half_closed, SHUT_WR);
  ExpectServing(address, "half-open");
  std::string received;
  EXPECT_TRUE(ReadUntilClosed(half_closed, milliseconds(10000), &received))
      << "the server kept a half-closed connection open";
  close(silent);
  close(partial);
  close(half_closed);
  ExpectServing(address, "closing half-open");
  for (NodeId id : cluster_->ids()) {
    EXPECT_TRUE(cluster_->IsRunning(id)) << "node " << id << " died";
  }
}

TEST_F(BadInputTest, ValueAboveDefaultLimit) {
  ClusterOptions options;
  options.nodes = 1;
  NodeId leader = StartCluster(options);
  ASSERT_NE(leader, 0u);
  const std::string address = cluster_->address(leader);
  auto stub = Stub(address);
  grpc::Status s = Set(*stub, "big", std::string((1 << 20) + 1, 'v'));
  ExpectInvalid(s, v1::VALUE_TOO_LARGE, "value of 1MiB + 1");
  auto detail = client::DecodeErrorDetail(s);
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->limit(), 1u << 20);
  EXPECT_EQ(detail->actual(), (1u << 20) + 1);
  EXPECT_TRUE(Set(*stub, "big", std::string(1 << 20, 'v')).ok())
      << "value of exactly 1MiB";
  ExpectServing(address, "oversized value");
}

}  // namespace
}  // namespace shardkv::test
