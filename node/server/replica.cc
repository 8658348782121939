// Replica lifecycle, the inbox and the raft loop. Applying and answering
// waiters is in replica_apply.cc; admin and snapshots in replica_admin.cc.
#include "node/server/replica.h"

#include <filesystem>
#include <utility>

#include "common/clock.h"
#include "common/log.h"

namespace shardkv::server {
namespace {

// Stops packing commands into one entry beyond this many bytes.
constexpr size_t kMaxEntryBytes = 4 << 20;

// Presents the state machine's membership to the core on restart: the
// conf as of the applied index (later conf entries are re-applied), or the
// bootstrap conf of a group that has applied nothing yet.
class ConfFromStateMachine : public raft::LogStorage {
 public:
  ConfFromStateMachine(const storage::RaftLog* log, raft::ConfState conf)
      : log_(log), conf_(std::move(conf)) {}
  raft::HardState InitialHardState() const override {
    return log_->InitialHardState();
  }
  raft::ConfState InitialConfState() const override { return conf_; }
  Status Entries(raft::Index lo, raft::Index hi, uint64_t max_bytes,
                 std::vector<raft::Entry>* out) const override {
    return log_->Entries(lo, hi, max_bytes, out);
  }
  StatusOr<raft::Term> TermAt(raft::Index i) const override {
    return log_->TermAt(i);
  }
  raft::Index FirstIndex() const override { return log_->FirstIndex(); }
  raft::Index LastIndex() const override { return log_->LastIndex(); }
  raft::SnapshotMeta Snapshot() const override { return log_->Snapshot(); }

 private:
  const storage::RaftLog* log_;
  raft::ConfState conf_;
};

}  // namespace

Replica::Replica(NodeConfig config)
    : config_(std::move(config)), lease_duration_(ReadLeaseDuration(config_)) {}

Replica::~Replica() { Stop(); }

Status Replica::OpenStorage() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return Internal("cannot create data dir " + config_.data_dir + ": " +
                    ec.message());
  }
  auto engine =
      storage::Engine::Open(config_.data_dir + "/db", storage::EngineOptions{});
  if (!engine.ok()) return engine.status();
  engine_ = std::move(engine).value();
  auto log =
      storage::OpenRaftLog(config_.raft_log, config_.data_dir, engine_.get());
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  SHARDKV_RETURN_IF_ERROR(log_->Load());
  // The log is rebased and compacted against what the state machine holds
  // now: make all of it durable first (RocksDB flushes what it recovered
  // from its WAL at open; this covers anything else in a memtable).
  SHARDKV_RETURN_IF_ERROR(SyncStateMachine());
  machine_ = std::make_unique<storage::StateMachine>(engine_.get());
  SHARDKV_RETURN_IF_ERROR(machine_->Load());

  bool fresh = log_->LastIndex() == 0 && log_->Snapshot().index == 0 &&
               machine_->applied().index == 0 &&
               log_->InitialConfState().voters.empty() &&
               machine_->applied().conf.voters.empty();
  if (fresh && !config_.join && config_.peers.contains(config_.id)) {
    raft::ConfState conf;
    for (const auto& [id, addr] : config_.peers) conf.voters.push_back(id);
    SHARDKV_RETURN_IF_ERROR(log_->Bootstrap(conf));
    SHARDKV_RETURN_IF_ERROR(machine_->Bootstrap(conf, config_.peers));
    SHARDKV_LOG(kInfo) << "bootstrapped a new group of " << conf.voters.size()
                       << " voters";
  } else if (fresh) {
    SHARDKV_LOG(kInfo) << "empty data dir: waiting to be added to a group";
  }

  // A snapshot install that crashed after the state machine took the image
  // but before the log was rebased: the image is committed state, so the
  // log restarts after it.
  storage::AppliedState applied = machine_->applied();
  if (applied.index < log_->Snapshot().index) {
    return DataLoss(
        "the log starts after " + std::to_string(log_->Snapshot().index) +
        " but the state machine has applied only up to " +
        std::to_string(applied.index) + "; the data dir is inconsistent");
  }
  if (LogDisagreesWithStateMachine(applied)) {
    SHARDKV_LOG(kWarning) << "the log (ending at " << log_->LastIndex()
                          << ") does not hold applied entry " << applied.index
                          << " of term " << applied.term
                          << "; rebasing the log on the state machine";
    SHARDKV_RETURN_IF_ERROR(log_->ApplySnapshot(
        raft::SnapshotMeta{applied.index, applied.term, applied.conf}));
    raft::HardState hs = log_->InitialHardState();
    hs.commit = std::max(hs.commit, applied.index);
    hs.term = std::max(hs.term, applied.term);
    SHARDKV_RETURN_IF_ERROR(log_->Save(hs, {}, true));
  }
  return Status::Ok();
}

bool Replica::LogDisagreesWithStateMachine(
    const storage::AppliedState& applied) const {
  if (applied.index == 0) return false;
  if (applied.index > log_->LastIndex()) return true;
  // The log may still hold a stale, uncommitted tail from an old term
  // where the installed image has the committed entries.
  auto term = log_->TermAt(applied.index);
  return term.ok() && *term != applied.term;
}

Status Replica::Start() {
  SHARDKV_RETURN_IF_ERROR(OpenStorage());
  storage::AppliedState applied = machine_->applied();
  applied_ = durable_applied_ = applied.index;
  last_clock_ms_ = applied.clock_ms;

  transport_ = std::make_unique<Transport>(config_.id, config_.advertise,
                                           config_.cluster_id);
  for (const auto& [id, addr] : config_.peers) transport_->SetAddress(id, addr);
  for (const auto& [id, addr] : applied.addresses) {
    transport_->SetAddress(id, addr);
  }
  transport_->SetHandlers(
      [this](raft::NodeId id) {
        Enqueue([&] {
          tasks_.push_back([this, id] { raft_->ReportUnreachable(id); });
        });
      },
      [this](raft::NodeId id, bool ok) {
        Enqueue([&] {
          tasks_.push_back([this, id, ok] { raft_->ReportSnapshot(id, ok); });
        });
      },
      this);

  // The membership as of the applied index; later changes in the log are
  // applied again. A joining replica has none yet and learns it.
  raft::ConfState conf =
      applied.conf.voters.empty() ? log_->InitialConfState() : applied.conf;
  raft::Config rc;
  rc.id = config_.id;
  rc.election_tick = config_.election_ticks;
  rc.heartbeat_tick = config_.heartbeat_ticks;
  rc.applied = applied.index;
  rc.async_storage_writes = !config_.classic_ready_loop;
  // Always, whatever --read-lease says here: another replica's lease may
  // rest on this one's acknowledgements from before a restart.
  rc.refuse_votes_after_start = true;
  rc.random_seed =
      config_.id * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(WallClockMs());
  conf_storage_ = std::make_unique<ConfFromStateMachine>(log_.get(), conf);
  raft_ = std::make_unique<raft::RawNode>(rc, conf_storage_.get());
  if (rc.async_storage_writes) {
    writer_ = std::make_unique<LogWriter>(
        log_.get(), transport_.get(),
        LogWriter::Callbacks{
            [this](const raft::PersistMark& mark) {
              Enqueue([&] { persisted_mark_ = mark; });
            },
            [this](const Status& s) { Fatal("persisting the Raft log", s); }});
  }
  PublishStatus();
  responder_ = std::make_unique<Responder>();
  loop_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "raft-loop");
    Loop();
  });
  SHARDKV_LOG(kInfo) << "replica " << config_.id << " started; applied index "
                     << applied_ << ", log [" << log_->FirstIndex() << ", "
                     << log_->LastIndex() << "]";
  return Status::Ok();
}

void Replica::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_thread_.joinable()) loop_thread_.join();
  // After the loop: it posts its last answers before it ends.
  if (responder_) responder_->Stop();
  if (writer_) writer_->Stop();
  if (transport_) transport_->Stop();
}

void Replica::Enqueue(std::function<void()> push) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    push();
    wake = !std::exchange(wake_pending_, true);
  }
  // One wake-up per loop iteration is enough: the loop takes every queue
  // at once. This saves a futex call per request under load.
  if (wake) cv_.notify_one();
}

bool Replica::PostTask(Task task) {
  bool posted = false;
  Enqueue([&] {
    if (stopping_) return;
    tasks_.push_back(std::move(task));
    posted = true;
  });
  return posted;
}

void Replica::Propose(internal::Command command, WriteDone done) {
  bool accepted = false;
  Enqueue([&] {
    if (stopping_) return;
    writes_.emplace_back(std::move(command), std::move(done));
    accepted = true;
  });
  if (!accepted) done(Unavailable("replica is shutting down"), {});
}

void Replica::ProposeMany(
    std::vector<std::pair<internal::Command, WriteDone>> writes) {
  bool accepted = false;
  Enqueue([&] {
    if (stopping_) return;
    for (auto& write : writes) writes_.push_back(std::move(write));
    accepted = true;
  });
  if (accepted) return;
  for (auto& [command, done] : writes) {
    done(Unavailable("replica is shutting down"), {});
  }
}

void Replica::WaitReadable(ReadGate gate) {
  bool accepted = false;
  Enqueue([&] {
    if (stopping_) return;
    reads_.push_back(std::move(gate));
    accepted = true;
  });
  if (!accepted) gate(Unavailable("replica is shutting down"));
}

void Replica::Receive(std::vector<raft::Message> messages, raft::NodeId from,
                      const std::string& from_address) {
  // Only an unknown peer's address is learned from its batches (a joining
  // replica that has not applied the membership yet). A configured or
  // membership address wins: it may be a route (proxy, NAT) on purpose.
  if (from != raft::kNoNode && !from_address.empty() &&
      transport_->AddressOf(from).empty()) {
    transport_->SetAddress(from, from_address);
  }
  Enqueue([&] {
    if (stopping_) return;
    for (auto& m : messages) {
      // A snapshot is only valid with its image (InstallSnapshot stream).
      if (m.type == raft::MessageType::kSnapshot) continue;
      inbox_.push_back(std::move(m));
    }
  });
}

void Replica::ConsumePersistedMark() {
  std::optional<raft::PersistMark> mark;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mark.swap(persisted_mark_);
  }
  if (mark) raft_->OnPersisted(*mark);
}

void Replica::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(config_.tick_ms);
  auto next_tick = Clock::now() + tick;
  auto next_maintenance = Clock::now() + std::chrono::seconds(1);
  std::vector<raft::Message> inbox;
  std::vector<std::pair<internal::Command, WriteDone>> writes;
  std::vector<ReadGate> reads;
  std::vector<Task> tasks;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_tick, [&] {
        return stopping_ || !inbox_.empty() || !writes_.empty() ||
               !reads_.empty() || !tasks_.empty() ||
               persisted_mark_.has_value();
      });
      if (stopping_) break;
      wake_pending_ = false;
      inbox.swap(inbox_);
      writes.swap(writes_);
      reads.swap(reads_);
      tasks.swap(tasks_);
    }
    auto now = Clock::now();
    if (now >= next_tick) {
      raft_->Tick();
      next_tick += tick;
      if (next_tick < now) next_tick = now + tick;  // we fell behind
    }
    RunIteration(&inbox, &writes, &reads, &tasks);
    FlushAnswers();
    if (now >= next_maintenance) {
      next_maintenance = now + std::chrono::seconds(1);
      Maintenance();
    }
  }
  // Leftover tasks run (their waiters are failed just below); queued
  // requests are answered outside the lock.
  std::vector<Task> left_tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left_tasks.swap(tasks_);
    writes.swap(writes_);
    reads.swap(reads_);
  }
  for (Task& task : left_tasks) task();
  FlushAnswers();
  FailAllPending(Unavailable("replica is shutting down"));
  // A transfer survives a step-down (that is how it succeeds), so it is
  // failed here and by its deadline, not by FailAllPending.
  for (auto& transfer : pending_transfers_) {
    transfer.done(Unavailable("replica is shutting down"));
  }
  pending_transfers_.clear();
  for (auto& [cmd, done] : writes) done(Unavailable("shutting down"), {});
  for (auto& gate : reads) gate(Unavailable("shutting down"));
}

void Replica::RunIteration(
    std::vector<raft::Message>* inbox,
    std::vector<std::pair<internal::Command, WriteDone>>* writes,
    std::vector<ReadGate>* reads, std::vector<Task>* tasks) {
  ConsumePersistedMark();
  for (Task& task : *tasks) task();
  tasks->clear();
  for (const raft::Message& m : *inbox) {
    Status s = raft_->Step(m);
    if (!s.ok()) SHARDKV_LOG(kDebug) << "step: " << s.ToString();
  }
  inbox->clear();
  ProposeWrites(writes);
  StartReadIndex(reads);
  HandleReady();
  PublishStatusIfDue();
}

void Replica::ProposeWrites(
    std::vector<std::pair<internal::Command, WriteDone>>* writes) {
  if (writes->empty()) return;
  if (!is_leader_) {
    Status s = NotLeaderStatus();
    for (auto& [cmd, done] : *writes) done(s, {});
    writes->clear();
    return;
  }
  int64_t now = std::max(WallClockMs(), last_clock_ms_);
  last_clock_ms_ = now;
  std::vector<std::string> entries;
  std::vector<std::vector<WriteDone>> dones;
  internal::CommandBatch batch;
  std::vector<WriteDone> batch_dones;
  size_t batch_bytes = 0;
  auto flush = [&] {
    if (batch.commands_size() == 0) return;
    entries.push_back(batch.SerializeAsString());
    dones.push_back(std::move(batch_dones));
    batch.Clear();
    batch_dones.clear();
    batch_bytes = 0;
  };
  for (auto& [cmd, done] : *writes) {
    cmd.set_now_ms(now);
    size_t size = cmd.ByteSizeLong();
    if (batch_bytes + size > kMaxEntryBytes) flush();
    batch_bytes += size;
    *batch.add_commands() = std::move(cmd);
    batch_dones.push_back(std::move(done));
  }
  flush();
  writes->clear();
  auto positions = raft_->Propose(std::move(entries));
  if (!positions.ok()) {
    Status s = positions.status().code() == Code::kFailedPrecondition
                   ? Unavailable("leadership is being transferred; retry")
                   : positions.status();
    for (auto& list : dones) {
      for (auto& done : list) done(s, {});
    }
    return;
  }
  for (size_t i = 0; i < positions->size(); ++i) {
    const raft::LogPosition& pos = (*positions)[i];
    pending_writes_[pos.index] = PendingWrite{pos.term, std::move(dones[i])};
  }
}

}  // namespace shardkv::server
