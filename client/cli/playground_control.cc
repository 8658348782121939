#include "client/cli/playground_control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shardkv::cli {
namespace {

StatusOr<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("control socket path too long (" +
                           std::to_string(path.size()) + " bytes): " + path +
                           "; use a shorter --data-dir");
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// One line (without '\n'), waiting at most `timeout_ms` per read; "" at EOF.
bool ReadLine(int fd, std::string& buffer, std::string* line, int timeout_ms) {
  while (true) {
    size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      *line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[512];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

void ControlConnection::Send(const std::string& line) {
  if (gone_) return;
  std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      gone_ = true;
      return;
    }
    done += static_cast<size_t>(n);
  }
}

bool ControlConnection::PeerGone() {
  if (gone_) return true;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP))) {
    gone_ = true;
  }
  return gone_;
}

ControlServer::~ControlServer() {
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(path_.c_str());
  }
}

Status ControlServer::Listen() {
  auto addr = SocketAddress(path_);
  if (!addr.ok()) return addr.status();
  unlink(path_.c_str());  // the data dir is locked: any socket here is stale
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    return Internal(std::string("socket: ") + strerror(errno));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) !=
          0 ||
      listen(listen_fd_, 4) != 0) {
    return Internal("cannot listen on " + path_ + ": " + strerror(errno));
  }
  return Status::Ok();
}

void ControlServer::Serve(const ControlHandler& handler) {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string buffer, request;
    if (ReadLine(fd, buffer, &request, 5000)) {
      ControlConnection conn(fd);
      handler(request, conn);
    }
    close(fd);
  }
}

Status RunControlRequest(
    const std::string& socket_path, const std::string& request,
    const std::function<void(const std::string&)>& on_line) {
  auto addr = SocketAddress(socket_path);
  if (!addr.ok()) return addr.status();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    int err = errno;
    close(fd);
    return Unavailable("no playground is running on this data dir (" +
                       socket_path + ": " + strerror(err) + ")");
  }
  std::string data = request + "\n";
  if (send(fd, data.data(), data.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(data.size())) {
    close(fd);
    return Unavailable("the playground closed the control connection");
  }
  std::string buffer, line;
  Status result =
      Unavailable("the playground closed the connection (stopped?)");
  while (ReadLine(fd, buffer, &line, -1)) {
    if (line.rfind("done", 0) == 0) {
      result = Status::Ok();
      on_line(line);
      break;
    }
    if (line.rfind("error ", 0) == 0) {
      result = Status(Code::kAborted, line.substr(6));
      break;
    }
    on_line(line);
  }
  close(fd);
  return result;
}

}  // namespace shardkv::cli
