// SlotMapStore: the slot map as one record of the controller group's
// replicated state machine, under a reserved key, changed only by
// compare-and-set on the record's version (SetCommand if_version /
// if_absent through Replica::Propose). Every accepted change bumps the
// map's epoch by one; a change that leaves the map as it was is not
// written (idempotent requests do not bump the epoch).
//
// Reads: Applied() reads this replica's applied state (any replica, maybe
// stale); Read*() are linearizable (leader only, after a ReadIndex).
//
// Updates are group-committed: edits submitted while a write is in flight
// wait and then go together, applied in order to one linearizable read of
// the map and written by one CAS (an edit that fails leaves the map as the
// edits before it left it and gets its own error). With many migrations in
// flight this turns N racing CAS writes (one wins per commit, the rest
// re-read and retry) into one write per commit.
//
// Thread-safety: thread-safe. Async callbacks run on the replica's
// raft-loop thread and must not block; the *Blocking variants wait for
// them and must not be called from that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "node/server/replica.h"
#include "shardkv/v1/controller.pb.h"

namespace shardkv::controller {

// The record's key in the controller's state machine.
inline constexpr char kSlotMapKey[] = "\x01shardkv/controller/slot_map";

struct StoredMap {
  bool exists = false;
  uint64_t version = 0;  // the record's version (CAS token)
  v1::SlotMap map;
};

class SlotMapStore {
 public:
  // Edits the current map in place or fails (nothing is written then).
  using Edit = std::function<Status(v1::SlotMap*)>;
  using ReadDone = std::function<void(StatusOr<StoredMap>)>;
  using UpdateDone = std::function<void(StatusOr<v1::SlotMap>)>;

  explicit SlotMapStore(server::Replica* replica) : replica_(replica) {}

  // This replica's applied record (exists = false before it is created).
  StatusOr<StoredMap> Applied() const;
  // Linearizable read (UNAVAILABLE off the leader).
  void Read(ReadDone done);
  // Reads linearizably, applies `edit` (after the edits queued before it)
  // and writes by CAS, retrying a few times when another change won the
  // race. `done` gets the stored map (or the unchanged map when the edits
  // changed nothing), or the edit's own error.
  void Update(Edit edit, UpdateDone done);
  // Creates the map (slot_count slots, all unassigned) if absent.
  void CreateIfAbsent(uint32_t slot_count, UpdateDone done);

  StatusOr<StoredMap> ReadBlocking();
  StatusOr<v1::SlotMap> UpdateBlocking(Edit edit);

 private:
  struct PendingEdit {
    Edit edit;
    UpdateDone done;
  };
  using Batch = std::shared_ptr<std::vector<PendingEdit>>;

  // Takes the queued edits and writes them, or marks the writer idle.
  void WriteNextBatch();
  void WriteBatch(Batch batch, int attempt);
  // Writes `next` (epoch + 1) if the record is still at `current`.
  void CompareAndSet(const StoredMap& current, v1::SlotMap next,
                     std::function<void(Status, uint64_t)> done);

  server::Replica* const replica_;

  std::mutex mu_;
  std::vector<PendingEdit> queued_;  // mu_
  bool writing_ = false;             // mu_: a batch is in flight
  // When the batch in flight started: a writer stuck longer than a
  // blocking call waits (a leader cut off from its quorum may never call
  // back) no longer holds the queue.
  std::chrono::steady_clock::time_point write_started_;  // mu_
};

}  // namespace shardkv::controller
