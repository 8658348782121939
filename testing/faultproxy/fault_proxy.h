// FaultProxy: a TCP proxy on a loopback port that forwards every accepted
// connection to one target and injects faults on command: blackhole (both
// directions or one), per-chunk delay, and reset of all connections. Tests
// put one proxy on each directed peer link (node A reaches node B through
// proxy P_AB) to partition nodes.
//
// A blackhole keeps connections open and silently discards what arrives in
// the dropped direction, so that long-lived gRPC/HTTP/2 connections stop
// delivering bytes — what a partition looks like to the peers. Because
// bytes were discarded mid-stream, Pass() closes every connection that lost
// bytes (peers reconnect); untouched connections keep flowing.
//
// Thread-safety: all public methods may be called from any thread. The
// proxy owns one thread (named after options.name) running a poll() loop
// over all sockets; there is no thread per connection. Control methods
// return after the loop has applied the change: once Drop() returns, no
// further byte is forwarded in the dropped direction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace shardkv::test {

enum class Direction {
  kBoth,
  kClientToTarget,  // bytes from the connecting side towards the target
  kTargetToClient,  // replies from the target
};

struct FaultProxyOptions {
  std::string name = "faultproxy";  // thread name; first 15 chars are used
  std::string listen_host = "127.0.0.1";  // IPv4 literal
  uint16_t listen_port = 0;               // 0: pick a free port
  std::string target_host = "127.0.0.1";  // IPv4 literal
  uint16_t target_port = 0;
};

class FaultProxy {
 public:
  // Binds, listens and starts the proxy thread.
  static StatusOr<std::unique_ptr<FaultProxy>> Start(
      const FaultProxyOptions& options);

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  // Stops the thread and closes every socket.
  ~FaultProxy();

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

  // Heals: forwards both directions without delay. Connections that lost
  // bytes during a blackhole are closed.
  void Pass();
  // Blackholes `direction` (adds to any direction already dropped). Bytes
  // already queued for that direction are discarded too.
  void Drop(Direction direction = Direction::kBoth);
  // Holds every chunk read from now on for `delay` before forwarding it.
  void SetDelay(std::chrono::milliseconds delay);
  // Closes all current connections (both sides); new ones are accepted.
  void ResetConnections();

  // Open proxied connections, as of the loop's last iteration.
  size_t ConnectionCount() const;
  // Bytes written to either side since Start().
  uint64_t BytesForwarded() const;
  // Bytes discarded by blackholes since Start().
  uint64_t BytesDropped() const;

 private:
  class Loop;
  explicit FaultProxy(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace shardkv::test
