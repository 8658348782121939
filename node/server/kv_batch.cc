// KV.Batch: several independent Get/Set/Delete items in one call.
//
// Each item is checked and handled exactly like the single call of its
// kind; what a batch saves is per-call work: one gRPC call, one ReadIndex
// gate for all of its linearizable reads, one hand-over of all of its
// writes to the raft loop (which packs them into one log entry with the
// other writes of its iteration).
//
// Items complete on different threads (gRPC's, the responder's). Each
// writes only its own, pre-allocated result; a counter that starts at
// items + 1 (the extra one held by the handler until every item has been
// handed on) lets the last one to finish answer the call.
#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "node/server/errors.h"
#include "node/server/kv_service.h"

namespace shardkv::server {
namespace {

class BatchCall {
 public:
  BatchCall(grpc::ServerUnaryReactor* reactor, int items)
      : reactor_(reactor), pending_(items + 1) {}

  // One item (or the handler's own share) is done; the last answers.
  void ItemDone() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      reactor_->Finish(grpc::Status::OK);
    }
  }

 private:
  grpc::ServerUnaryReactor* const reactor_;
  std::atomic<int> pending_;
};

void SetOutcome(const grpc::Status& status, v1::BatchItemResult* result) {
  if (status.ok()) return;
  result->set_code(static_cast<int32_t>(status.error_code()));
  result->set_message(status.error_message());
  if (!result->mutable_detail()->ParseFromString(status.error_details())) {
    result->clear_detail();
  }
}

}  // namespace

grpc::ServerUnaryReactor* KvService::Batch(grpc::CallbackServerContext* context,
                                           const v1::BatchRequest* request,
                                           v1::BatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int n = request->items_size();
  if (n > kMaxBatchItems) {
    reactor->Finish(InvalidArgumentWithLimit(v1::INVALID_REQUEST,
                                             "batch of " + std::to_string(n) +
                                                 " items; the limit is " +
                                                 std::to_string(kMaxBatchItems),
                                             kMaxBatchItems, n));
    return reactor;
  }
  // Allocated before any item can complete: items then only touch their
  // own element, never the container.
  std::vector<v1::BatchItemResult*> results(n);
  for (int i = 0; i < n; ++i) results[i] = response->add_results();
  auto call = std::make_shared<BatchCall>(reactor, n);

  std::vector<int> linearizable_reads;
  std::vector<std::pair<internal::Command, Replica::WriteDone>> writes;
  for (int i = 0; i < n; ++i) {
    const v1::BatchItem& item = request->items(i);
    v1::BatchItemResult* result = results[i];
    grpc::Status s;
    switch (item.op_case()) {
      case v1::BatchItem::kGet:
        s = CheckGet(item.get());
        if (s.ok() && item.get().consistency() == v1::CONSISTENCY_STALE) {
          s = ReadNow(item.get(), result->mutable_get());
        } else if (s.ok()) {
          linearizable_reads.push_back(i);
          continue;
        }
        break;
      case v1::BatchItem::kSet: {
        internal::Command command;
        s = PrepareSet(item.set(), &command);
        if (!s.ok()) break;
        writes.emplace_back(
            std::move(command),
            [this, call, result](const Status& st,
                                 const storage::ApplyResult& r) {
              if (st.ok()) result->mutable_set()->set_version(r.version);
              SetOutcome(WriteStatus(st, r), result);
              call->ItemDone();
            });
        continue;
      }
      case v1::BatchItem::kDelete: {
        internal::Command command;
        s = PrepareDelete(item.delete_(), &command);
        if (!s.ok()) break;
        writes.emplace_back(
            std::move(command),
            [this, call, result](const Status& st,
                                 const storage::ApplyResult& r) {
              if (st.ok()) result->mutable_delete_()->set_deleted(r.deleted);
              SetOutcome(WriteStatus(st, r), result);
              call->ItemDone();
            });
        continue;
      }
      default:
        s = InvalidArgumentWithLimit(v1::INVALID_REQUEST,
                                     "batch item without an operation", 0, 0);
    }
    SetOutcome(s, result);
    call->ItemDone();
  }
  if (!writes.empty()) replica_->ProposeMany(std::move(writes));
  if (!linearizable_reads.empty()) {
    replica_->WaitReadable(
        [this, call, request, results,
         reads = std::move(linearizable_reads)](const Status& s) {
          grpc::Status failed;
          if (!s.ok()) {
            failed = s.code() == Code::kUnavailable ? NotLeader() : ToGrpc(s);
          }
          for (int i : reads) {
            v1::BatchItemResult* result = results[i];
            SetOutcome(
                s.ok() ? ReadNow(request->items(i).get(), result->mutable_get())
                       : failed,
                result);
            call->ItemDone();
          }
        });
  }
  call->ItemDone();  // the handler's own share
  return reactor;
}

}  // namespace shardkv::server
