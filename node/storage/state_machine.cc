#include "node/storage/state_machine.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>

#include "node/storage/encoding.h"
#include "node/storage/records.h"
#include "node/storage/state_machine_core.h"

namespace shardkv::storage {
namespace {

// A client's de-duplication session ends after this much applied-clock
// time without a command from it.
constexpr int64_t kSessionIdleMs = 60 * 60 * 1000;
// The expiry index files a session under the minute it was last seen, so
// a busy client rewrites its index entry once a minute, not per command;
// sessions end up to a minute late.
constexpr int64_t kSessionBucketMs = 60 * 1000;

int64_t SessionBucket(int64_t last_seen_ms) {
  return last_seen_ms - (last_seen_ms % kSessionBucketMs + kSessionBucketMs) %
                            kSessionBucketMs;
}
// Sessions are swept at every entry whose index is a multiple of this, at
// most kSessionSweepLimit at a time: deterministic on every replica
// whatever batches the server applies.
constexpr raft::Index kSessionSweepEvery = 16;
constexpr size_t kSessionSweepLimit = 64;
// ReclaimExpired() looks at no more than this many records per unit of
// limit, and never more than kReclaimScanMax per call: it holds the writer
// mutex, so applies wait for it.
constexpr size_t kReclaimScanPerLimit = 16;
constexpr size_t kReclaimScanMax = 4096;

Status Corrupt(const std::string& what) {
  return DataLoss("corrupt state machine record: " + what);
}

// Applies entries into one WriteBatchWithIndex, so later commands of the
// same batch read what earlier ones wrote.
class Applier {
 public:
  Applier(Engine* engine, AppliedState state)
      : engine_(engine),
        batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true),
        state_(std::move(state)) {}

  Status ApplyEntry(const raft::Entry& entry, std::vector<ApplyResult>* out);
  Status ApplyConfChange(const raft::Entry& entry,
                         const raft::ConfChange& change,
                         const raft::ConfState& conf);
  // Writes everything with the new applied state (not synced).
  Status Commit();
  const AppliedState& state() const { return state_; }

 private:
  ApplyResult ApplyCommand(const internal::Command& command, Status* error);
  ApplyResult ApplySet(const internal::SetCommand& set, Status* error);
  ApplyResult ApplyDelete(const internal::DeleteCommand& del, Status* error);
  // Reads a key through the batch; absent when missing or expired by the
  // applied clock.
  bool ReadLive(const std::string& key, ValueRecord* record,
                std::string* buffer, Status* error);
  Status ReadSession(uint64_t client_id, bool* found, Session* session);
  Status SweepSessions();

  Engine* const engine_;
  rocksdb::WriteBatchWithIndex batch_;
  AppliedState state_;
};

Status Applier::ApplyEntry(const raft::Entry& entry,
                           std::vector<ApplyResult>* out) {
  out->clear();
  if (entry.type != raft::EntryType::kNormal) {
    return InvalidArgument("entry " + std::to_string(entry.index) +
                           " is a conf change: use ApplyConfChange");
  }
  if (entry.index <= state_.index) return Status::Ok();  // replayed
  if (!entry.data.empty()) {
    internal::CommandBatch commands;
    if (!commands.ParseFromString(entry.data)) {
      return Internal("entry " + std::to_string(entry.index) +
                      " does not hold a command batch");
    }
    out->reserve(commands.commands_size());
    for (const auto& command : commands.commands()) {
      Status error;
      out->push_back(ApplyCommand(command, &error));
      SHARDKV_RETURN_IF_ERROR(error);
    }
  }
  state_.index = entry.index;
  state_.term = entry.term;
  if (entry.index % kSessionSweepEvery == 0) {
    SHARDKV_RETURN_IF_ERROR(SweepSessions());
  }
  return Status::Ok();
}

ApplyResult Applier::ApplyCommand(const internal::Command& command,
                                  Status* error) {
  state_.clock_ms = std::max(state_.clock_ms, command.now_ms());
  const uint64_t client = command.client_id();
  Session session;
  bool has_session = false;
  if (client != 0) {
    *error = ReadSession(client, &has_session, &session);
    if (!error->ok()) return {};
    if (has_session && command.sequence() <= session.last_sequence) {
      if (command.sequence() == session.last_sequence) return session.result;
      ApplyResult stale;
      stale.status = FailedPrecondition(
          "duplicate of an older request: sequence " +
          std::to_string(command.sequence()) + " of client " +
          std::to_string(client) + ", last applied " +
          std::to_string(session.last_sequence));
      return stale;
    }
  }
  ApplyResult result;
  switch (command.op_case()) {
    case internal::Command::kSet:
      result = ApplySet(command.set(), error);
      break;
    case internal::Command::kDel:
      result = ApplyDelete(command.del(), error);
      break;
    default:
      result.status = InvalidArgument("command without an operation");
  }
  if (!error->ok() || client == 0) return result;
  auto* cf = engine_->cf(Column::kSessions);
  const int64_t old_bucket = SessionBucket(session.last_seen_ms);
  const int64_t new_bucket = SessionBucket(state_.clock_ms);
  if (!has_session || old_bucket != new_bucket) {
    if (has_session) batch_.Delete(cf, SessionIndexKey(old_bucket, client));
    batch_.Put(cf, SessionIndexKey(new_bucket, client), "");
  }
  session = {command.sequence(), state_.clock_ms, result};
  batch_.Put(cf, SessionKey(client), EncodeSession(session));
  return result;
}

bool Applier::ReadLive(const std::string& key, ValueRecord* record,
                       std::string* buffer, Status* error) {
  rocksdb::Status s = batch_.GetFromBatchAndDB(
      engine_->db(), {}, engine_->cf(Column::kData), key, buffer);
  if (s.IsNotFound()) return false;
  if (!s.ok()) {
    *error = FromRocks(s, "reading a key to apply a command");
    return false;
  }
  if (!DecodeValueRecord(*buffer, record)) {
    *error = Corrupt("value of a key");
    return false;
  }
  return !record->ExpiredAt(state_.clock_ms);
}

ApplyResult Applier::ApplySet(const internal::SetCommand& set, Status* error) {
  ValueRecord current;
  std::string buffer;
  const bool live = ReadLive(set.key(), &current, &buffer, error);
  ApplyResult result;
  if (!error->ok()) return result;
  const uint64_t version = live ? current.version : 0;
  if (set.condition_case() == internal::SetCommand::kIfAbsent &&
      set.if_absent() && live) {
    result.status = FailedPrecondition("key exists (if_absent)");
    result.current_version = version;
    return result;
  }
  if (set.condition_case() == internal::SetCommand::kIfVersion &&
      set.if_version() != version) {
    result.status =
        FailedPrecondition("version is " + std::to_string(version) + ", not " +
                           std::to_string(set.if_version()));
    result.current_version = version;
    return result;
  }
  result.version = version + 1;
  batch_.Put(
      engine_->cf(Column::kData), set.key(),
      EncodeValueRecord(result.version, set.expire_at_ms(), set.value()));
  return result;
}

ApplyResult Applier::ApplyDelete(const internal::DeleteCommand& del,
                                 Status* error) {
  ValueRecord current;
  std::string buffer;
  const bool live = ReadLive(del.key(), &current, &buffer, error);
  ApplyResult result;
  if (!error->ok()) return result;
  const uint64_t version = live ? current.version : 0;
  if (del.condition_case() == internal::DeleteCommand::kIfVersion &&
      del.if_version() != version) {
    result.status =
        FailedPrecondition("version is " + std::to_string(version) + ", not " +
                           std::to_string(del.if_version()));
    result.current_version = version;
    return result;
  }
  if (!buffer.empty()) {
    // Also drops an expired record: it is absent anyway.
    batch_.Delete(engine_->cf(Column::kData), del.key());
  }
  result.deleted = live;
  return result;
}

Status Applier::ReadSession(uint64_t client_id, bool* found, Session* session) {
  std::string value;
  rocksdb::Status s = batch_.GetFromBatchAndDB(engine_->db(), {},
                                               engine_->cf(Column::kSessions),
                                               SessionKey(client_id), &value);
  *found = false;
  if (s.IsNotFound()) return Status::Ok();
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "reading a client session"));
  if (!DecodeSession(value, session)) return Corrupt("client session");
  *found = true;
  return Status::Ok();
}

Status Applier::SweepSessions() {
  auto* cf = engine_->cf(Column::kSessions);
  std::vector<std::string> expired;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        batch_.NewIteratorWithBase(cf, engine_->db()->NewIterator({}, cf)));
    for (it->Seek(std::string(1, kSessionIndexPrefix));
         it->Valid() && expired.size() < kSessionSweepLimit; it->Next()) {
      std::string_view key = it->key().ToStringView();
      if (key.size() != 17 || key[0] != kSessionIndexPrefix) break;
      const int64_t bucket = SessionIndexLastSeen(key);
      if (bucket + kSessionBucketMs + kSessionIdleMs >= state_.clock_ms) break;
      expired.emplace_back(key);
    }
    SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "sweeping sessions"));
  }
  for (const auto& key : expired) {
    batch_.Delete(cf, key);
    batch_.Delete(cf, SessionKey(SessionIndexClient(key)));
  }
  return Status::Ok();
}

Status Applier::ApplyConfChange(const raft::Entry& entry,
                                const raft::ConfChange& change,
                                const raft::ConfState& conf) {
  if (entry.index <= state_.index) return Status::Ok();  // replayed
  state_.index = entry.index;
  state_.term = entry.term;
  state_.conf = conf;
  if (change.type == raft::ConfChangeType::kRemove) {
    state_.addresses.erase(change.node);
  } else if (!change.context.empty()) {
    state_.addresses[change.node] = change.context;
  }
  return Status::Ok();
}

Status Applier::Commit() {
  batch_.Put(engine_->cf(Column::kMeta), kAppliedKey,
             EncodeAppliedState(state_));
  rocksdb::Status s = engine_->db()->Write({}, batch_.GetWriteBatch());
  return FromRocks(s, "applying committed entries");
}

}  // namespace

class StateMachine::Impl {
 public:
  explicit Impl(Engine* engine) : core(engine) {}
  StateMachineCore core;
};

StateMachine::StateMachine(Engine* engine)
    : impl_(std::make_unique<Impl>(engine)) {}

StateMachine::~StateMachine() = default;

Status StateMachine::Load() {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  SHARDKV_RETURN_IF_ERROR(RemoveInterruptedInstall(*core.engine));
  std::string value;
  rocksdb::Status s = core.engine->db()->Get({}, core.engine->cf(Column::kMeta),
                                             kAppliedKey, &value);
  AppliedState state;
  if (s.ok()) {
    if (!DecodeAppliedState(value, &state)) return Corrupt("applied state");
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the applied state");
  }
  core.set_applied(state);
  core.reclaim_cursor.clear();
  return Status::Ok();
}

AppliedState StateMachine::applied() const { return impl_->core.applied(); }

Status StateMachine::ApplyEntry(const raft::Entry& entry,
                                std::vector<ApplyResult>* out) {
  std::vector<std::vector<ApplyResult>> results;
  SHARDKV_RETURN_IF_ERROR(ApplyEntries({entry}, &results));
  *out = std::move(results.front());
  return Status::Ok();
}

Status StateMachine::ApplyEntries(const std::vector<raft::Entry>& entries,
                                  std::vector<std::vector<ApplyResult>>* out) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  Applier applier(core.engine, core.applied());
  out->assign(entries.size(), {});
  for (size_t i = 0; i < entries.size(); ++i) {
    SHARDKV_RETURN_IF_ERROR(applier.ApplyEntry(entries[i], &(*out)[i]));
  }
  SHARDKV_RETURN_IF_ERROR(applier.Commit());
  core.set_applied(applier.state());
  return Status::Ok();
}

Status StateMachine::ApplyConfChange(const raft::Entry& entry,
                                     const raft::ConfChange& change,
                                     const raft::ConfState& conf) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  Applier applier(core.engine, core.applied());
  SHARDKV_RETURN_IF_ERROR(applier.ApplyConfChange(entry, change, conf));
  SHARDKV_RETURN_IF_ERROR(applier.Commit());
  core.set_applied(applier.state());
  return Status::Ok();
}

Status StateMachine::Bootstrap(
    const raft::ConfState& conf,
    const std::map<raft::NodeId, std::string>& addresses) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  AppliedState state = core.applied();
  if (state.index != 0) {
    return FailedPrecondition("cannot bootstrap: entries were applied");
  }
  state.conf = conf;
  state.addresses = addresses;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status s =
      core.engine->db()->Put(sync, core.engine->cf(Column::kMeta), kAppliedKey,
                             EncodeAppliedState(state));
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "recording the initial membership"));
  core.set_applied(state);
  return Status::Ok();
}

StatusOr<ReadResult> StateMachine::Get(std::string_view key,
                                       int64_t now_ms) const {
  Engine* engine = impl_->core.engine;
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      engine->db()->Get({}, engine->cf(Column::kData), key, &value);
  ReadResult result;
  if (s.IsNotFound()) return result;
  if (!s.ok()) return FromRocks(s, "reading a key");
  ValueRecord record;
  if (!DecodeValueRecord(value.ToStringView(), &record)) {
    return Corrupt("value of a key");
  }
  if (record.ExpiredAt(now_ms)) return result;
  result.found = true;
  result.value.assign(record.value);
  result.version = record.version;
  result.expire_at_ms = record.expire_at_ms;
  return result;
}

StatusOr<size_t> StateMachine::ReclaimExpired(size_t limit) {
  StateMachineCore& core = impl_->core;
  std::lock_guard<std::mutex> lock(core.write_mu);
  const int64_t clock = core.applied().clock_ms;
  auto* cf = core.engine->cf(Column::kData);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(core.engine->db()->NewIterator(ro, cf));
  rocksdb::WriteBatch batch;
  size_t reclaimed = 0;
  size_t budget = std::min(std::max<size_t>(limit, 1) * kReclaimScanPerLimit,
                           kReclaimScanMax);
  it->Seek(core.reclaim_cursor);
  for (; it->Valid() && reclaimed < limit && budget > 0; it->Next(), --budget) {
    ValueRecord record;
    if (!DecodeValueRecord(it->value().ToStringView(), &record)) {
      return Corrupt("value of a key");
    }
    if (!record.ExpiredAt(clock)) continue;
    batch.Delete(cf, it->key());
    ++reclaimed;
  }
  SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "scanning expired keys"));
  // Resume after the last key looked at; start over at the end.
  core.reclaim_cursor = it->Valid() ? it->key().ToString() : std::string();
  if (reclaimed > 0) {
    rocksdb::Status s = core.engine->db()->Write({}, &batch);
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "deleting expired keys"));
  }
  return reclaimed;
}

uint64_t StateMachine::ApproximateKeys() const {
  Engine* engine = impl_->core.engine;
  uint64_t keys = 0;
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kEstimateNumKeys,
                               &keys);
  return keys;
}

uint64_t StateMachine::ApproximateBytes() const {
  Engine* engine = impl_->core.engine;
  uint64_t live = 0;
  uint64_t memtables = 0;
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kEstimateLiveDataSize,
                               &live);
  engine->db()->GetIntProperty(engine->cf(Column::kData),
                               rocksdb::DB::Properties::kCurSizeAllMemTables,
                               &memtables);
  return live + memtables;
}

std::unique_ptr<SnapshotSource> StateMachine::OpenSnapshot() const {
  return NewSnapshotSource(impl_->core.engine);
}

std::unique_ptr<SnapshotSink> StateMachine::BeginInstall() {
  return NewSnapshotSink(&impl_->core);
}

}  // namespace shardkv::storage
