#include "testing/faultproxy/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace shardkv::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
// Stop reading a side while this much is queued towards the other side.
constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;

struct Chunk {
  Clock::time_point release;
  std::string data;
  size_t offset = 0;
};

// One direction of a connection: bytes read from `from`, queued, written
// to `to`.
struct Pipe {
  std::deque<Chunk> queue;
  size_t queued_bytes = 0;
  bool source_eof = false;  // read() returned 0
  bool shut_down = false;   // EOF propagated with shutdown(SHUT_WR)

  bool Releasable(Clock::time_point now) const {
    return !queue.empty() && queue.front().release <= now;
  }
  size_t Discard() {
    size_t n = queued_bytes;
    queue.clear();
    queued_bytes = 0;
    return n;
  }
};

struct Connection {
  int client_fd = -1;
  int target_fd = -1;
  bool connecting = true;
  bool closed = false;
  bool lost_bytes = false;  // some bytes were blackholed: stream corrupt
  // Socket fully closed by its peer (POLLHUP after EOF): no longer polled.
  bool client_hung_up = false;
  bool target_hung_up = false;
  Pipe to_target;  // client -> target
  Pipe to_client;  // target -> client
};

struct Settings {
  bool drop_to_target = false;
  bool drop_to_client = false;
  std::chrono::milliseconds delay{0};
  uint64_t reset_epoch = 0;
  uint64_t heal_epoch = 0;
};

Status Errno(const std::string& what) {
  return Internal(what + ": " + std::strerror(errno));
}

StatusOr<sockaddr_in> ParseIpv4(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("not an IPv4 address: " + host);
  }
  return addr;
}

}  // namespace

class FaultProxy::Loop {
 public:
  Loop(FaultProxyOptions options, int listen_fd, int wake_fd, uint16_t port)
      : options_(std::move(options)),
        listen_fd_(listen_fd),
        wake_fd_(wake_fd),
        port_(port) {
    target_ = *ParseIpv4(options_.target_host, options_.target_port);
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    Wake();
    thread_.join();
    for (Connection& c : conns_) Close(&c);
    close(listen_fd_);
    close(wake_fd_);
  }

  uint16_t port() const { return port_; }
  const FaultProxyOptions& options() const { return options_; }

  // Changes the settings and waits until the loop has applied them.
  template <typename Fn>
  void Control(Fn&& change) {
    std::unique_lock<std::mutex> lock(mu_);
    change(&desired_);
    const uint64_t generation = ++generation_;
    lock.unlock();
    Wake();
    lock.lock();
    applied_cv_.wait(lock, [&] { return applied_generation_ >= generation; });
  }

  std::atomic<size_t> connection_count{0};
  std::atomic<uint64_t> bytes_forwarded{0};
  std::atomic<uint64_t> bytes_dropped{0};

 private:
  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;  // a full eventfd counter still wakes the loop
  }

  void Run() {
    pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
    Settings applied;
    while (true) {
      uint64_t generation;
      Settings desired;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        generation = generation_;
        desired = desired_;
      }
      Apply(applied, desired);
      applied = desired;
      RemoveClosed();
      {
        std::lock_guard<std::mutex> lock(mu_);
        applied_generation_ = generation;
      }
      applied_cv_.notify_all();
      PollOnce();
      RemoveClosed();
    }
  }

  void RemoveClosed() {
    conns_.remove_if([](const Connection& c) { return c.closed; });
    connection_count.store(conns_.size());
  }

  // A hang-up on a socket already at EOF needs no read; the socket stops
  // being polled (POLLHUP is level-triggered and would spin the loop).
  static bool ShouldRead(short revents, const Pipe& pipe, bool* hung_up) {
    if (revents & POLLIN) return true;
    if (!(revents & POLLHUP)) return false;
    if (!pipe.source_eof) return true;
    *hung_up = true;
    return false;
  }

  // Closes a connection with nothing left to deliver.
  static void CloseIfFinished(Connection* c) {
    const bool to_target_done =
        c->target_hung_up ||
        (c->to_target.source_eof && c->to_target.queue.empty());
    const bool to_client_done =
        c->client_hung_up ||
        (c->to_client.source_eof && c->to_client.queue.empty());
    if (to_target_done && to_client_done) Close(c);
  }

  void Apply(const Settings& old_settings, const Settings& now) {
    settings_ = now;
    const bool reset = now.reset_epoch != old_settings.reset_epoch;
    const bool heal = now.heal_epoch != old_settings.heal_epoch;
    for (Connection& c : conns_) {
      if (reset || (heal && c.lost_bytes)) {
        Close(&c);
        continue;
      }
      if (now.drop_to_target) DropQueued(&c, &c.to_target);
      if (now.drop_to_client) DropQueued(&c, &c.to_client);
    }
  }

  void DropQueued(Connection* c, Pipe* pipe) {
    size_t n = pipe->Discard();
    if (n == 0) return;
    c->lost_bytes = true;
    bytes_dropped += n;
  }

  void PollOnce() {
    const Clock::time_point now = Clock::now();
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    Clock::time_point next_release = Clock::time_point::max();
    for (Connection& c : conns_) {
      fds.push_back({c.client_hung_up ? -1 : c.client_fd,
                     Interest(c.to_target, c.to_client, now,
                              /*connecting=*/false),
                     0});
      fds.push_back({c.target_hung_up ? -1 : c.target_fd,
                     Interest(c.to_client, c.to_target, now, c.connecting), 0});
      for (const Pipe* p : {&c.to_target, &c.to_client}) {
        if (!p->queue.empty() && p->queue.front().release > now) {
          next_release = std::min(next_release, p->queue.front().release);
        }
      }
    }
    int timeout_ms = -1;
    if (next_release != Clock::time_point::max()) {
      auto wait =
          std::chrono::ceil<std::chrono::milliseconds>(next_release - now);
      timeout_ms = static_cast<int>(std::max<int64_t>(0, wait.count()));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) return;  // EINTR
    if (fds[0].revents != 0) {
      uint64_t count;
      ssize_t n = read(wake_fd_, &count, sizeof(count));
      (void)n;
    }
    size_t i = 2;
    for (Connection& c : conns_) {
      HandleClient(&c, fds[i++].revents);
      HandleTarget(&c, fds[i++].revents);
      if (c.client_hung_up || c.target_hung_up) CloseIfFinished(&c);
    }
    if (fds[1].revents & POLLIN) Accept();
  }

  // Events wanted on the socket that reads into `in` and writes from `out`.
  static short Interest(const Pipe& in, const Pipe& out, Clock::time_point now,
                        bool connecting) {
    if (connecting) return POLLOUT;
    short events = 0;
    if (!in.source_eof && in.queued_bytes < kMaxQueuedBytes) {
      events |= POLLIN;
    }
    if (out.Releasable(now)) events |= POLLOUT;
    return events;
  }

  void HandleClient(Connection* c, short revents) {
    if (c->closed || revents == 0) return;
    if (revents & POLLERR) {
      Close(c);
      return;
    }
    if (ShouldRead(revents, c->to_target, &c->client_hung_up)) {
      ReadInto(c, c->client_fd, &c->to_target, settings_.drop_to_target);
    }
    if (!c->closed && (revents & POLLOUT)) {
      Flush(c, &c->to_client, c->client_fd);
    }
  }

  void HandleTarget(Connection* c, short revents) {
    if (c->closed || revents == 0) return;
    if (revents & POLLERR) {
      Close(c);
      return;
    }
    if (c->connecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c->target_fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Close(c);  // target down: the client sees its connection close
        return;
      }
      c->connecting = false;
      return;
    }
    if (ShouldRead(revents, c->to_client, &c->target_hung_up)) {
      ReadInto(c, c->target_fd, &c->to_client, settings_.drop_to_client);
    }
    if (!c->closed && (revents & POLLOUT)) {
      Flush(c, &c->to_target, c->target_fd);
    }
  }

  void ReadInto(Connection* c, int fd, Pipe* pipe, bool dropped) {
    char buf[kReadChunk];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        Close(c);
      }
      return;
    }
    if (n == 0) {
      pipe->source_eof = true;
      // A blackholed direction does not propagate the FIN either.
      if (!dropped) MaybeShutDown(c, pipe);
      CloseIfFinished(c);
      return;
    }
    if (dropped) {
      c->lost_bytes = true;
      bytes_dropped += n;
      return;
    }
    pipe->queue.push_back(
        {Clock::now() + settings_.delay, std::string(buf, n), 0});
    pipe->queued_bytes += n;
  }

  void Flush(Connection* c, Pipe* pipe, int fd) {
    const Clock::time_point now = Clock::now();
    while (pipe->Releasable(now)) {
      Chunk& chunk = pipe->queue.front();
      ssize_t n = send(fd, chunk.data.data() + chunk.offset,
                       chunk.data.size() - chunk.offset, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          Close(c);
        }
        return;
      }
      bytes_forwarded += n;
      pipe->queued_bytes -= n;
      chunk.offset += n;
      if (chunk.offset < chunk.data.size()) return;  // socket buffer full
      pipe->queue.pop_front();
    }
    MaybeShutDown(c, pipe);
  }

  // Propagates EOF once everything read before it has been written.
  void MaybeShutDown(Connection* c, Pipe* pipe) {
    if (!pipe->source_eof || !pipe->queue.empty() || pipe->shut_down) return;
    int to = pipe == &c->to_target ? c->target_fd : c->client_fd;
    shutdown(to, SHUT_WR);
    pipe->shut_down = true;
  }

  void Accept() {
    while (true) {
      int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int target =
          socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (target < 0) {
        close(fd);
        return;
      }
      int rc = connect(target, reinterpret_cast<const sockaddr*>(&target_),
                       sizeof(target_));
      if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        close(target);
        continue;
      }
      Connection c;
      c.client_fd = fd;
      c.target_fd = target;
      c.connecting = rc < 0;
      conns_.push_back(std::move(c));
    }
  }

  static void Close(Connection* c) {
    if (c->closed) return;
    close(c->client_fd);
    close(c->target_fd);
    c->closed = true;
  }

  const FaultProxyOptions options_;
  const int listen_fd_;
  const int wake_fd_;
  const uint16_t port_;
  sockaddr_in target_{};

  // Loop thread only.
  std::list<Connection> conns_;
  Settings settings_;

  std::mutex mu_;
  std::condition_variable applied_cv_;
  Settings desired_;                 // GUARDED_BY(mu_)
  uint64_t generation_ = 0;          // GUARDED_BY(mu_)
  uint64_t applied_generation_ = 0;  // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)

  std::thread thread_;  // last: starts after all members are initialized
};

StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(
    const FaultProxyOptions& options) {
  StatusOr<sockaddr_in> listen_addr =
      ParseIpv4(options.listen_host, options.listen_port);
  if (!listen_addr.ok()) return listen_addr.status();
  StatusOr<sockaddr_in> target =
      ParseIpv4(options.target_host, options.target_port);
  if (!target.ok()) return target.status();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*listen_addr),
           sizeof(sockaddr_in)) != 0 ||
      listen(fd, 128) != 0) {
    Status st = Errno("bind/listen " + options.listen_host + ":" +
                      std::to_string(options.listen_port));
    close(fd);
    return st;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    Status st = Errno("eventfd");
    close(fd);
    return st;
  }
  return std::unique_ptr<FaultProxy>(new FaultProxy(
      std::make_unique<Loop>(options, fd, wake, ntohs(bound.sin_port))));
}

FaultProxy::FaultProxy(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}
FaultProxy::~FaultProxy() = default;

uint16_t FaultProxy::port() const { return loop_->port(); }

std::string FaultProxy::address() const {
  return loop_->options().listen_host + ":" + std::to_string(port());
}

void FaultProxy::Pass() {
  loop_->Control([](Settings* s) {
    s->drop_to_target = false;
    s->drop_to_client = false;
    s->delay = std::chrono::milliseconds(0);
    ++s->heal_epoch;
  });
}

void FaultProxy::Drop(Direction direction) {
  loop_->Control([direction](Settings* s) {
    if (direction != Direction::kTargetToClient) s->drop_to_target = true;
    if (direction != Direction::kClientToTarget) s->drop_to_client = true;
  });
}

void FaultProxy::SetDelay(std::chrono::milliseconds delay) {
  loop_->Control([delay](Settings* s) { s->delay = delay; });
}

void FaultProxy::ResetConnections() {
  loop_->Control([](Settings* s) { ++s->reset_epoch; });
}

size_t FaultProxy::ConnectionCount() const {
  return loop_->connection_count.load();
}
uint64_t FaultProxy::BytesForwarded() const {
  return loop_->bytes_forwarded.load();
}
uint64_t FaultProxy::BytesDropped() const {
  return loop_->bytes_dropped.load();
}

}  // namespace shardkv::test
