#include "node/server/responder.h"

#include <pthread.h>

#include <utility>

namespace shardkv::server {

Responder::Responder() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "responder");
    Run();
  });
}

Responder::~Responder() { Stop(); }

void Responder::Post(std::vector<Task>* tasks) {
  if (tasks->empty()) return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      // The thread swaps the whole queue out, so an empty queue means it
      // is asleep or about to look: one notify per batch is enough.
      wake = queue_.empty();
      if (queue_.empty()) {
        queue_.swap(*tasks);
      } else {
        for (Task& task : *tasks) queue_.push_back(std::move(task));
      }
      tasks->clear();
    }
  }
  if (wake) cv_.notify_one();
  // Stopped: answer on the caller's thread rather than drop the answers.
  for (Task& task : *tasks) task();
  tasks->clear();
}

void Responder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Responder::Run() {
  std::vector<Task> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything ran
      batch.swap(queue_);
    }
    for (Task& task : batch) task();
    batch.clear();
  }
}

}  // namespace shardkv::server
