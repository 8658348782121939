// The running playground's control endpoint: a UNIX socket DIR/control.sock
// that `shardkv playground scale` talks to, one request per connection.
// Line protocol:
//   client -> "scale N\n"
//   server -> "progress STEP MOVED TOTAL BYTES IN_FLIGHT\n"... (slots moved
//             and to move, bytes moved, migrations running),
//             "note TEXT\n"..., then "done TEXT\n" or "error TEXT\n".
// The client closing the connection (Ctrl-C) asks to cancel; the handler
// sees it through ControlConnection::PeerGone().
//
// ControlServer: one thread (the caller of Serve) accepts and handles
// requests one at a time; Stop() may be called from any thread.
// RunControlRequest blocks its caller.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/status.h"

namespace shardkv::cli {

class ControlConnection {
 public:
  explicit ControlConnection(int fd) : fd_(fd) {}
  // Best effort: a client gone is not an error for the work under way.
  void Send(const std::string& line);
  // The client closed its end (or sent more): treat as "cancel".
  bool PeerGone();

 private:
  int fd_;
  bool gone_ = false;
};

using ControlHandler =
    std::function<void(const std::string& request, ControlConnection& conn)>;

class ControlServer {
 public:
  explicit ControlServer(std::string socket_path)
      : path_(std::move(socket_path)) {}
  ~ControlServer();

  // Binds the socket (replacing a stale one from a crashed playground).
  Status Listen();
  // Handles requests until Stop().
  void Serve(const ControlHandler& handler);
  void Stop() { stop_ = true; }
  bool stopping() const { return stop_; }

 private:
  const std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
};

// Sends `request` to the playground at `socket_path` and passes every reply
// line to `on_line` until "done"/"error" (returned as OK / an error).
// UNAVAILABLE when no playground listens there.
Status RunControlRequest(
    const std::string& socket_path, const std::string& request,
    const std::function<void(const std::string&)>& on_line);

}  // namespace shardkv::cli
