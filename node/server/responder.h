// Responder: one thread, "responder", that answers clients for the raft
// loop. The loop hands it the linearizable reads it released (each gate
// reads the state machine and finishes its gRPC call) and the outcomes of
// applied writes (each finishes its call), so that RocksDB reads and the
// sendmsg of answers run beside the loop instead of stalling it.
//
// Invariants: tasks run one at a time, in the order posted; every task
// posted before Stop() runs (Stop drains the queue, then joins). A task
// posted after Stop() runs on the caller's thread, so no answer is lost.
//
// Thread-safety: Post and Stop are thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shardkv::server {

class Responder {
 public:
  using Task = std::function<void()>;

  Responder();
  ~Responder();
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // Queues `tasks` (moved out; `tasks` is left empty) with one wake-up.
  void Post(std::vector<Task>* tasks);
  // Runs everything queued, then joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> queue_;  // mu_
  bool stopping_ = false;    // mu_
  std::thread thread_;
};

}  // namespace shardkv::server
