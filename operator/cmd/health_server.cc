#include "operator/cmd/health_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shardkv::op {

HealthServer::HealthServer(std::function<bool()> ready)
    : ready_(std::move(ready)) {}

HealthServer::~HealthServer() { Stop(); }

Status HealthServer::Start(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("health address '" + address + "' is not HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.empty()) host = "0.0.0.0";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return InvalidArgument("health address '" + address + "' does not resolve");
  }
  listen_fd_ = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = listen_fd_ >= 0 &&
                     bind(listen_fd_, found->ai_addr, found->ai_addrlen) == 0 &&
                     listen(listen_fd_, 16) == 0;
  freeaddrinfo(found);
  if (!bound) {
    std::string error = std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
    return Unavailable("health server on " + address + ": " + error);
  }
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &length);
  port_ = ntohs(local.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    return Internal(std::string("pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void HealthServer::Stop() {
  if (thread_.joinable()) {
    char byte = 1;
    (void)!write(stop_pipe_[1], &byte, 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &stop_pipe_[0], &stop_pipe_[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void HealthServer::Serve() {
  pthread_setname_np(pthread_self(), "health");
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Answer(connection);
    close(connection);
  }
}

void HealthServer::Answer(int connection) {
  timeval timeout{1, 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char buffer[1024];
  const ssize_t n = read(connection, buffer, sizeof(buffer) - 1);
  if (n <= 0) return;
  buffer[n] = '\0';
  const std::string request(buffer);
  std::string status = "404 Not Found", body = "not found\n";
  if (request.rfind("GET /healthz", 0) == 0) {
    status = "200 OK";
    body = "ok\n";
  } else if (request.rfind("GET /readyz", 0) == 0) {
    const bool ready = ready_();
    status = ready ? "200 OK" : "503 Service Unavailable";
    body = ready ? "ok\n" : "caches not synced\n";
  }
  const std::string response = "HTTP/1.0 " + status +
                               "\r\nContent-Type: text/plain\r\n"
                               "Content-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(connection, response.data(), response.size());
}

}  // namespace shardkv::op
