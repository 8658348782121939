// KvBatcher: packs KV requests issued concurrently to one replica into
// KV.Batch calls, with a bounded number of calls in flight.
//
// A request submitted while fewer than `max_in_flight` calls are out goes
// at once (alone, under light load: no added latency); otherwise it waits
// in the queue and leaves with everything queued when the next call
// completes. The batch size adapts to the load by itself, as Nagle-free
// pipelining does, and the per-call cost of gRPC and the kernel is paid
// once per batch instead of once per request (TiKV's batch commands).
//
// Thread-safety: thread-safe. `done` callbacks run on gRPC's threads,
// never inside Submit(), and may call Submit() again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "shardkv/v1/kv.grpc.pb.h"

namespace shardkv::bench {

class KvBatcher {
 public:
  // `call_status` is the status of the whole call; when it is OK,
  // `result` is this request's own outcome.
  using Done = std::function<void(const grpc::Status& call_status,
                                  const v1::BatchItemResult& result)>;

  KvBatcher(v1::KV::Stub* stub, int max_in_flight, int max_items,
            std::chrono::milliseconds timeout);
  // Waits for the calls in flight (their callbacks use this object).
  ~KvBatcher();
  KvBatcher(const KvBatcher&) = delete;
  KvBatcher& operator=(const KvBatcher&) = delete;

  void Submit(v1::BatchItem item, Done done);

 private:
  struct Call;
  // Takes up to max_items_ queued requests into a new call (REQUIRES mu_
  // held and something queued).
  Call* TakeBatchLocked();
  void Send(Call* call);
  void OnDone(Call* call, const grpc::Status& status);

  v1::KV::Stub* const stub_;
  const int max_in_flight_;
  const int max_items_;
  const std::chrono::milliseconds timeout_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  struct Pending {
    v1::BatchItem item;
    Done done;
  };
  std::deque<Pending> queue_;  // mu_
  int in_flight_ = 0;          // mu_
};

}  // namespace shardkv::bench
