// A minimal HTTP/1.0 responder for the kubelet's probes of the operator
// pod: GET /healthz answers 200 while the process runs, GET /readyz 200
// once `ready()` says so (503 before), anything else 404. One request per
// connection, read with a short timeout; no keep-alive, no bodies read.
//
// Thread-safety: Start/Stop from the owner. It owns one thread
// ("health"); `ready` is called on it.
#ifndef SHARDKV_OPERATOR_CMD_HEALTH_SERVER_H_
#define SHARDKV_OPERATOR_CMD_HEALTH_SERVER_H_

#include <functional>
#include <string>
#include <thread>

#include "common/status.h"

namespace shardkv::op {

class HealthServer {
 public:
  explicit HealthServer(std::function<bool()> ready);
  ~HealthServer();  // Stop()
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // Binds "host:port" (port 0 picks one; see port()).
  Status Start(const std::string& address);
  void Stop();
  int port() const { return port_; }

 private:
  void Serve();
  void Answer(int connection);

  std::function<bool()> ready_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_CMD_HEALTH_SERVER_H_
