// LogWriter: persists the Raft log off the raft thread ("asynchronous
// storage writes", raw_node.h). The raft thread submits each Ready's write
// and goes on stepping messages; the writer thread takes everything queued
// meanwhile and saves it with ONE fsync (group commit across Readys), then
// sends the messages that had to wait for durability and reports the last
// durable PersistMark back to the raft thread.
//
// Thread-safety: Submit/Drain from the raft thread; callbacks run on the
// writer thread ("log-writer").
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "node/raft/raw_node.h"
#include "node/server/transport.h"
#include "node/storage/raft_log.h"

namespace shardkv::server {

class LogWriter {
 public:
  struct Write {
    std::optional<raft::HardState> hard_state;
    std::vector<raft::Entry> entries;
    std::vector<raft::Message> after_persist;
    raft::PersistMark mark;
  };
  struct Callbacks {
    // After every write up to and including `mark` is durable.
    std::function<void(const raft::PersistMark& mark)> on_durable;
    // A write failed: the replica cannot go on safely.
    std::function<void(const Status&)> on_error;
  };

  LogWriter(storage::RaftLog* log, Transport* transport, Callbacks callbacks);
  ~LogWriter();

  void Submit(Write write);
  // Returns once everything submitted is durable and reported.
  void Drain();
  void Stop();

 private:
  void Loop();
  void Persist(std::vector<Write>* writes);

  storage::RaftLog* const log_;
  Transport* const transport_;
  const Callbacks callbacks_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_cv_;
  std::vector<Write> queue_;  // GUARDED_BY(mu_)
  bool busy_ = false;         // GUARDED_BY(mu_)
  bool stopping_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace shardkv::server
