#include "node/controller/map_store.h"

#include <chrono>
#include <future>
#include <memory>

#include "common/clock.h"
#include "node/controller/map_edits.h"

namespace shardkv::controller {
namespace {

// CAS conflicts only happen between concurrent controller requests and the
// driver; a handful of attempts is plenty.
constexpr int kMaxUpdateAttempts = 16;
// A leader cut off from its quorum never answers; the driver must not
// wait for it forever (the outcome of a timed-out CAS is then unknown and
// the next read tells).
constexpr std::chrono::seconds kBlockingTimeout(10);

bool SameMap(const v1::SlotMap& a, const v1::SlotMap& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

StatusOr<StoredMap> SlotMapStore::Applied() const {
  auto read = replica_->state_machine().Get(kSlotMapKey, WallClockMs());
  if (!read.ok()) return read.status();
  StoredMap stored;
  if (!read->found) return stored;
  stored.exists = true;
  stored.version = read->version;
  if (!stored.map.ParseFromString(read->value)) {
    return DataLoss("the stored slot map does not parse");
  }
  return stored;
}

void SlotMapStore::Read(ReadDone done) {
  replica_->WaitReadable([this, done = std::move(done)](const Status& s) {
    if (!s.ok()) {
      done(s);
      return;
    }
    done(Applied());
  });
}

void SlotMapStore::CompareAndSet(const StoredMap& current, v1::SlotMap next,
                                 std::function<void(Status, uint64_t)> done) {
  next.set_epoch(current.map.epoch() + 1);
  internal::Command command;
  internal::SetCommand* set = command.mutable_set();
  set->set_key(kSlotMapKey);
  set->set_value(next.SerializeAsString());
  if (current.exists) {
    set->set_if_version(current.version);
  } else {
    set->set_if_absent(true);
  }
  replica_->Propose(
      std::move(command),
      [done = std::move(done)](const Status& s, const storage::ApplyResult& r) {
        done(s, r.version);
      });
}

void SlotMapStore::Update(Edit edit, UpdateDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.push_back(PendingEdit{std::move(edit), std::move(done)});
    auto now = std::chrono::steady_clock::now();
    if (writing_ && now - write_started_ < kBlockingTimeout) return;
    writing_ = true;
    write_started_ = now;
  }
  WriteNextBatch();
}

void SlotMapStore::WriteNextBatch() {
  auto batch = std::make_shared<std::vector<PendingEdit>>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_.empty()) {
      writing_ = false;
      return;
    }
    batch->swap(queued_);
    write_started_ = std::chrono::steady_clock::now();
  }
  WriteBatch(std::move(batch), 1);
}

void SlotMapStore::WriteBatch(Batch batch, int attempt) {
  Read([this, batch, attempt](StatusOr<StoredMap> current) {
    auto fail_all = [&](const Status& s) {
      for (PendingEdit& p : *batch) p.done(s);
      WriteNextBatch();
    };
    if (!current.ok()) return fail_all(current.status());
    if (!current->exists) {
      return fail_all(Unavailable("the slot map is not created yet; retry"));
    }
    // Each edit sees the map as the edits before it left it.
    v1::SlotMap next = current->map;
    auto results = std::make_shared<std::vector<Status>>();
    for (PendingEdit& p : *batch) {
      v1::SlotMap edited = next;
      Status s = p.edit(&edited);
      if (s.ok()) next = std::move(edited);
      results->push_back(std::move(s));
    }
    auto finish = [this, batch, results](const v1::SlotMap& map) {
      for (size_t i = 0; i < batch->size(); ++i) {
        if ((*results)[i].ok()) {
          (*batch)[i].done(map);
        } else {
          (*batch)[i].done((*results)[i]);
        }
      }
      WriteNextBatch();
    };
    if (SameMap(next, current->map)) return finish(current->map);
    StoredMap base = *current;
    uint64_t epoch = base.map.epoch();
    CompareAndSet(base, next,
                  [this, batch, attempt, next, epoch, finish](
                      Status s, uint64_t) mutable {
                    if (s.ok()) {
                      next.set_epoch(epoch + 1);
                      finish(next);
                    } else if (s.code() == Code::kFailedPrecondition &&
                               attempt < kMaxUpdateAttempts) {
                      // Another writer (an old batch, a former leader's
                      // entry) won: redo every edit on the new map.
                      WriteBatch(batch, attempt + 1);
                    } else {
                      Status error =
                          s.code() == Code::kFailedPrecondition
                              ? Status(Code::kAborted,
                                       "the slot map kept changing under "
                                       "this request; retry")
                              : s;
                      for (PendingEdit& p : *batch) p.done(error);
                      WriteNextBatch();
                    }
                  });
  });
}

void SlotMapStore::CreateIfAbsent(uint32_t slot_count, UpdateDone done) {
  Read([this, slot_count, done = std::move(done)](StatusOr<StoredMap> current) {
    if (!current.ok()) {
      done(current.status());
      return;
    }
    if (current->exists) {
      done(std::move(current->map));
      return;
    }
    auto fresh = NewSlotMap(slot_count);
    if (!fresh.ok()) {
      done(fresh.status());
      return;
    }
    v1::SlotMap next = *fresh;
    CompareAndSet(*current, next,
                  [done = std::move(done), next](Status s, uint64_t) mutable {
                    if (!s.ok()) {
                      done(s);
                      return;
                    }
                    next.set_epoch(1);
                    done(std::move(next));
                  });
  });
}

StatusOr<StoredMap> SlotMapStore::ReadBlocking() {
  auto promise = std::make_shared<std::promise<StatusOr<StoredMap>>>();
  auto future = promise->get_future();
  Read([promise](StatusOr<StoredMap> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kBlockingTimeout) != std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "slot map read timed out");
  }
  return future.get();
}

StatusOr<v1::SlotMap> SlotMapStore::UpdateBlocking(Edit edit) {
  auto promise = std::make_shared<std::promise<StatusOr<v1::SlotMap>>>();
  auto future = promise->get_future();
  Update(std::move(edit), [promise](StatusOr<v1::SlotMap> r) {
    promise->set_value(std::move(r));
  });
  if (future.wait_for(kBlockingTimeout) != std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "slot map update timed out");
  }
  return future.get();
}

}  // namespace shardkv::controller
