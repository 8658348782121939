#include "client/bench/kv_batcher.h"

#include <algorithm>
#include <string>
#include <utility>

namespace shardkv::bench {

struct KvBatcher::Call {
  grpc::ClientContext context;
  v1::BatchRequest request;
  v1::BatchResponse response;
  std::vector<Done> dones;  // dones[i] answers request.items(i)
};

KvBatcher::KvBatcher(v1::KV::Stub* stub, int max_in_flight, int max_items,
                     std::chrono::milliseconds timeout)
    : stub_(stub),
      max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight),
      max_items_(max_items < 1 ? 1 : max_items),
      timeout_(timeout) {}

KvBatcher::~KvBatcher() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void KvBatcher::Submit(v1::BatchItem item, Done done) {
  Call* call = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Pending{std::move(item), std::move(done)});
    if (in_flight_ < max_in_flight_) call = TakeBatchLocked();
  }
  if (call != nullptr) Send(call);
}

KvBatcher::Call* KvBatcher::TakeBatchLocked() {
  auto* call = new Call;
  const size_t n = std::min(queue_.size(), static_cast<size_t>(max_items_));
  call->request.mutable_items()->Reserve(static_cast<int>(n));
  call->dones.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    *call->request.add_items() = std::move(queue_.front().item);
    call->dones.push_back(std::move(queue_.front().done));
    queue_.pop_front();
  }
  ++in_flight_;
  return call;
}

void KvBatcher::Send(Call* call) {
  call->context.set_deadline(std::chrono::system_clock::now() + timeout_);
  stub_->async()->Batch(&call->context, &call->request, &call->response,
                        [this, call](grpc::Status s) { OnDone(call, s); });
}

void KvBatcher::OnDone(Call* call, const grpc::Status& status) {
  // The next batch leaves before the answers run: the queue filled while
  // this call was out, and the pipeline should not wait for the callbacks.
  Call* next = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty()) {
      next = TakeBatchLocked();
    }
  }
  if (next != nullptr) Send(next);
  grpc::Status outcome = status;
  if (outcome.ok() &&
      call->response.results_size() != call->request.items_size()) {
    outcome = grpc::Status(
        grpc::StatusCode::INTERNAL,
        "batch answered " + std::to_string(call->response.results_size()) +
            " of " + std::to_string(call->request.items_size()) + " items");
  }
  static const v1::BatchItemResult kNoResult;
  for (size_t i = 0; i < call->dones.size(); ++i) {
    call->dones[i](outcome, outcome.ok()
                                ? call->response.results(static_cast<int>(i))
                                : kNoResult);
  }
  delete call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    // A request may have been queued while every slot was taken and none
    // is left to pick it up.
    if (!queue_.empty() && in_flight_ < max_in_flight_) {
      next = TakeBatchLocked();
    } else {
      next = nullptr;
    }
    if (in_flight_ == 0) idle_cv_.notify_all();
  }
  if (next != nullptr) Send(next);
}

}  // namespace shardkv::bench
