// Replica: one member of a shard's Raft group -- the Ready driver.
//
// Owns the storage (RocksDB engine, Raft log, state machine), the Raft core
// and one thread, "raft-loop", which alone touches the core and applies the
// log. gRPC handlers hand work to it through queues and get called back
// from it; they never block on it.
//
// Each loop iteration: tick -> step received messages -> propose queued
// writes (packed into one CommandBatch entry per loop, so all writes of the
// iteration share one entry and one fsync) -> start one ReadIndex for all
// queued linearizable reads -> handle every Ready:
//   persist (one synced write) -> send -> apply -> answer waiters -> Advance.
// Answers to released reads and applied writes are queued during the
// iteration and handed to the Responder thread at its end: the reads of
// the state machine and the gRPC sends run beside the loop.
//
// Thread-safety: public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "node/raft/raw_node.h"
#include "node/server/log_writer.h"
#include "node/server/node_config.h"
#include "node/server/responder.h"
#include "node/server/transport.h"
#include "node/storage/engine.h"
#include "node/storage/raft_log.h"
#include "node/storage/state_machine.h"
#include "shardkv/internal/command.pb.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::server {

// Where the leader is, for NOT_LEADER answers.
struct LeaderHint {
  raft::NodeId id = raft::kNoNode;
  std::string address;
};

class Replica : public SnapshotProvider {
 public:
  // Called once with the outcome of a write; on the raft-loop thread.
  // A non-OK status with NOT_LEADER means the outcome is unknown unless the
  // status says otherwise; retrying with the same RequestId is safe.
  using WriteDone =
      std::function<void(const Status&, const storage::ApplyResult&)>;
  // Called once a linearizable read may be served (OK), or failed.
  using ReadGate = std::function<void(const Status&)>;
  using AdminDone = std::function<void(const Status&)>;

  explicit Replica(NodeConfig config);
  ~Replica() override;

  // Opens the data dir (bootstrapping a new group if it is empty and
  // --peers names this node) and starts the loop.
  Status Start();
  void Stop();

  // Writes: `command` gets now_ms stamped by the loop when proposed.
  void Propose(internal::Command command, WriteDone done);
  // Several writes, handed to the loop at once (one lock, one wake-up).
  void ProposeMany(std::vector<std::pair<internal::Command, WriteDone>> writes);
  // Linearizable reads: `gate` is called once applied >= a ReadIndex taken
  // after the call; the caller then reads the state machine.
  void WaitReadable(ReadGate gate);
  const storage::StateMachine& state_machine() const { return *machine_; }

  // Peer traffic (from the RaftTransport service).
  void Receive(std::vector<raft::Message> messages, raft::NodeId from,
               const std::string& from_address);
  // Streams snapshots in (receiver side); see SnapshotProvider for out.
  std::unique_ptr<storage::SnapshotSink> BeginSnapshotInstall();
  // Installs a fully received image and steps its kSnapshot message.
  Status FinishSnapshotInstall(std::unique_ptr<storage::SnapshotSink> sink,
                               raft::Message message);

  // Admin.
  void ChangeMembership(raft::ConfChange change, AdminDone done);
  void TransferLeadership(raft::NodeId to, AdminDone done);
  v1::StatusResponse GetStatus() const;
  LeaderHint Leader() const;
  bool IsLeader() const { return is_leader_.load(); }
  const NodeConfig& config() const { return config_; }

  // SnapshotProvider (snapshot-sender thread).
  bool WriteSnapshot(raft::Message message,
                     const std::function<bool(const internal::SnapshotChunk&)>&
                         write) override;

 private:
  struct PendingWrite {
    raft::Term term = 0;
    std::vector<WriteDone> done;  // one per command in the entry
  };
  struct PendingAdmin {
    raft::Term term = 0;
    AdminDone done;
  };
  struct ReadBatch {
    raft::Index index = 0;  // 0 until the ReadState arrives
    std::vector<ReadGate> gates;
    // A ReadIndex round's request: when (boot clock) and under which
    // leadership; its ReadState extends the lease from `requested`.
    std::chrono::nanoseconds requested{0};
    raft::Term term = 0;
    uint64_t handovers = 0;
  };
  // The leader's lease for linearizable reads (replica_reads.cc): valid
  // until `until` (boot clock) while the core's LeaseView still shows
  // `term` and `handovers` and a committed entry of the term.
  struct ReadLease {
    std::chrono::nanoseconds until{0};
    raft::Term term = 0;
    uint64_t handovers = 0;
  };
  using Task = std::function<void()>;

  Status OpenStorage();
  void Loop();
  void RunIteration(
      std::vector<raft::Message>* inbox,
      std::vector<std::pair<internal::Command, WriteDone>>* writes,
      std::vector<ReadGate>* reads, std::vector<Task>* tasks);
  void ProposeWrites(
      std::vector<std::pair<internal::Command, WriteDone>>* writes);
  // replica_reads.cc: linearizable reads, under the lease when it holds,
  // else by a ReadIndex round (which also renews the lease).
  void StartReadIndex(std::vector<ReadGate>* reads);
  void RequestReadIndex(const raft::LeaseView& view,
                        std::vector<ReadGate>* reads);
  bool LeaseHolds(const raft::LeaseView& view,
                  std::chrono::nanoseconds now) const;
  // A ReadState arrived for `batch`: the round proved leadership as of
  // its request.
  void ExtendLease(const ReadBatch& batch);
  void HandleReady();
  // Classic mode: persist on this thread, then send and apply.
  void HandleReadyInline(raft::Ready& rd);
  // Async mode: hand the write to the log writer; send and apply at once.
  void HandleReadyAsync(raft::Ready& rd);
  void InstallReadySnapshot(const raft::SnapshotMeta& meta);
  // Hands the core the latest durable mark reported by the log writer.
  void ConsumePersistedMark();
  // Makes every state machine write so far durable (a RocksDB flush: the
  // state machine writes without WAL, engine.h).
  shardkv::Status SyncStateMachine();
  void ApplyCommitted(std::span<const raft::Entry> entries);
  void CompleteWrites(const raft::Entry& entry,
                      const std::vector<storage::ApplyResult>* results);
  void ApplyConfChangeEntry(const raft::Entry& entry);
  void ReleaseReads();
  // Hands the answers queued this iteration to the responder.
  void FlushAnswers();
  void FailAllPending(const shardkv::Status& status);
  void Maintenance();
  void MaybeCompact();
  // Raises durable_applied_ to what the last flush made durable; asks for
  // a flush when none came for compact_every_entries past `due`.
  void RefreshDurableApplied(raft::Index due);
  void PublishStatus();
  void PublishStatusIfDue();
  void UpdateSoftState(const raft::SoftState& soft);
  // Runs `push` under mu_ (it appends to a queue) and wakes the loop.
  void Enqueue(std::function<void()> push);
  // Runs `task` on the raft loop; false once the replica is stopping.
  bool PostTask(Task task);
  bool LogDisagreesWithStateMachine(const storage::AppliedState& applied) const;
  shardkv::Status NotLeaderStatus() const;
  [[noreturn]] void Fatal(const std::string& what,
                          const shardkv::Status& status);

  const NodeConfig config_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<storage::RaftLog> log_;
  std::unique_ptr<storage::StateMachine> machine_;
  std::unique_ptr<raft::LogStorage> conf_storage_;  // log_ + applied conf
  std::unique_ptr<raft::RawNode> raft_;             // raft-loop thread only
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<LogWriter> writer_;  // async mode only
  std::unique_ptr<Responder> responder_;

  // Answers to hand to the responder; raft-loop thread only.
  std::vector<Responder::Task> answers_;

  // Owned by the raft-loop thread.
  std::map<raft::Index, PendingWrite> pending_writes_;
  std::map<raft::Index, PendingAdmin> pending_admin_;
  std::map<std::string, ReadBatch> read_batches_;  // by ReadIndex context
  std::vector<ReadGate> reads_waiting_leader_;     // no commit in term yet
  uint64_t next_read_context_ = 1;
  const std::chrono::nanoseconds lease_duration_;  // 0: leases off
  ReadLease lease_;
  std::string lease_renewal_;  // context of the renewing round, if any
  raft::Index applied_ = 0;
  // Applied entries known durable in the state machine (flushed): the log
  // is compacted only behind it. Raft-loop thread only, as the two below.
  raft::Index durable_applied_ = 0;
  uint64_t flushes_seen_ = 0;  // Engine::flushes_completed() last looked at
  // flushes_completed() when a flush was last requested (one at a time).
  uint64_t flush_requested_at_ = UINT64_MAX;
  int64_t last_clock_ms_ = 0;
  struct PendingTransfer {
    raft::NodeId target;
    std::chrono::steady_clock::time_point deadline;
    AdminDone done;
  };
  std::vector<PendingTransfer> pending_transfers_;
  raft::NodeId last_logged_leader_ = raft::kNoNode;
  std::chrono::steady_clock::time_point next_status_;

  // Inbox, filled by any thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<raft::Message> inbox_;                             // mu_
  std::vector<std::pair<internal::Command, WriteDone>> writes_;  // mu_
  std::vector<ReadGate> reads_;                                  // mu_
  std::vector<Task> tasks_;                                      // mu_
  bool stopping_ = false;                                        // mu_
  bool wake_pending_ = false;  // the loop was notified and has not woken
  std::optional<raft::PersistMark> persisted_mark_;  // mu_

  // Published by the loop for Status()/Leader() from other threads.
  mutable std::mutex status_mu_;
  v1::StatusResponse status_;  // GUARDED_BY(status_mu_)
  std::atomic<bool> is_leader_{false};
  std::atomic<raft::NodeId> leader_id_{raft::kNoNode};

  std::thread loop_thread_;
};

}  // namespace shardkv::server
