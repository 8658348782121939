#include "node/server/log_writer.h"

namespace shardkv::server {

LogWriter::LogWriter(storage::RaftLog* log, Transport* transport,
                     Callbacks callbacks)
    : log_(log), transport_(transport), callbacks_(std::move(callbacks)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "log-writer");
    Loop();
  });
}

LogWriter::~LogWriter() { Stop(); }

void LogWriter::Submit(Write write) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(write));
  }
  cv_.notify_one();
}

void LogWriter::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  drained_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void LogWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogWriter::Loop() {
  std::vector<Write> writes;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      writes.swap(queue_);
      busy_ = true;
    }
    Persist(&writes);
    writes.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
    }
    drained_cv_.notify_all();
  }
}

void LogWriter::Persist(std::vector<Write>* writes) {
  // Fold the queued writes into one: a later write that starts at or below
  // an earlier one's entries replaces them from there (a new leader's).
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hard_state;
  for (Write& w : *writes) {
    if (!w.entries.empty()) {
      raft::Index from = w.entries.front().index;
      while (!entries.empty() && entries.back().index >= from) {
        entries.pop_back();
      }
      for (raft::Entry& e : w.entries) entries.push_back(std::move(e));
    }
    if (w.hard_state) hard_state = w.hard_state;
  }
  if (hard_state || !entries.empty()) {
    Status s = log_->Save(hard_state, entries, /*sync=*/true);
    if (!s.ok()) {
      callbacks_.on_error(s);
      return;
    }
  }
  for (Write& w : *writes) {
    if (!w.after_persist.empty()) transport_->Send(std::move(w.after_persist));
  }
  callbacks_.on_durable(writes->back().mark);
}

}  // namespace shardkv::server
