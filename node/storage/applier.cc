#include "node/storage/applier.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>

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

Status Corrupt(const std::string& what) {
  return DataLoss("corrupt state machine record: " + what);
}

}  // namespace

Applier::Applier(StateMachineCore* core, AppliedState state)
    : core_(core),
      engine_(core->engine),
      batch_(core->engine),
      state_(std::move(state)),
      config_(core->slots.config) {}

Status Applier::ApplyEntry(const raft::Entry& entry,
                           std::vector<ApplyResult>* out) {
  out->clear();
  if (entry.type != raft::EntryType::kNormal) {
    return InvalidArgument("entry " + std::to_string(entry.index) +
                           " is a conf change: use ApplyConfChange");
  }
  if (entry.index <= state_.index) return Status::Ok();  // replayed
  entry_index_ = entry.index;
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
    case internal::Command::kSlot:
      // Slot commands read through the batch and write behind the overlay.
      cache_off_ = true;
      session_index_.clear();
      *error = batch_.Index();
      if (!error->ok()) return {};
      result = ApplySlotCommand(command.slot(), error);
      break;
    default:
      result.status = InvalidArgument("command without an operation");
  }
  // A command refused by the slot check was not applied: its client may
  // retry it (same sequence) once the slot is served.
  if (!error->ok() || client == 0 || result.rejection.rejected()) {
    return result;
  }
  Session updated{command.sequence(), state_.clock_ms, result};
  WriteSession(client, has_session, session, updated);
  return result;
}

void Applier::WriteSession(uint64_t client_id, bool had_session,
                           const Session& old_session, const Session& session) {
  const int64_t old_bucket = SessionBucket(old_session.last_seen_ms);
  const int64_t new_bucket = SessionBucket(session.last_seen_ms);
  if (!had_session || old_bucket != new_bucket) {
    if (had_session) {
      WriteSessionIndex(SessionIndexKey(old_bucket, client_id), false);
    }
    WriteSessionIndex(SessionIndexKey(new_bucket, client_id), true);
  }
  batch_.Put(Column::kSessions, SessionKey(client_id), EncodeSession(session));
  if (!cache_off_) staged_.sessions[client_id] = session;
}

void Applier::WriteSessionIndex(const std::string& key, bool put) {
  if (put) {
    batch_.Put(Column::kSessions, key, "");
  } else {
    batch_.Delete(Column::kSessions, key);
  }
  if (!batch_.indexed()) session_index_[key] = put;
}

CachedRecord Applier::ReadRecord(const std::string& data_key, Status* error) {
  if (!cache_off_) {
    auto it = staged_.records.find(data_key);
    if (it != staged_.records.end()) return it->second;
    if (const CachedRecord* cached = core_->apply_cache.FindRecord(data_key)) {
      return *cached;
    }
  }
  CachedRecord record;
  std::string buffer;
  rocksdb::Status s = batch_.Get(Column::kData, data_key, &buffer);
  if (s.ok()) {
    ValueRecord decoded;
    if (!DecodeValueRecord(buffer, &decoded)) {
      *error = Corrupt("value of a key");
      return {};
    }
    record = {true, decoded.version, decoded.expire_at_ms};
  } else if (!s.IsNotFound()) {
    *error = FromRocks(s, "reading a key to apply a command");
    return {};
  }
  StageRecord(data_key, record);
  return record;
}

void Applier::StageRecord(const std::string& data_key,
                          const CachedRecord& record) {
  if (!cache_off_) staged_.records[data_key] = record;
}

ApplyResult Applier::ApplySet(const internal::SetCommand& set, Status* error) {
  ApplyResult result;
  if (set.key().empty() || set.key().size() > kMaxStoredKeyBytes) {
    result.status = InvalidArgument(
        "key must be 1-" + std::to_string(kMaxStoredKeyBytes) + " bytes");
    return result;
  }
  result.rejection = CheckKey(set.key());
  if (result.rejection.rejected()) {
    result.status = result.rejection.ToStatus();
    return result;
  }
  const std::string key = DataKey(set.key());
  const CachedRecord current = ReadRecord(key, error);
  if (!error->ok()) return result;
  const bool live = current.LiveAt(state_.clock_ms);
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
  batch_.PutValueRecord(key, result.version, set.expire_at_ms(), set.value());
  StageRecord(key, {true, result.version, set.expire_at_ms()});
  RecordChange(set.key());
  return result;
}

ApplyResult Applier::ApplyDelete(const internal::DeleteCommand& del,
                                 Status* error) {
  ApplyResult result;
  result.rejection = CheckKey(del.key());
  if (result.rejection.rejected()) {
    result.status = result.rejection.ToStatus();
    return result;
  }
  const std::string key = DataKey(del.key());
  const CachedRecord current = ReadRecord(key, error);
  if (!error->ok()) return result;
  const bool live = current.LiveAt(state_.clock_ms);
  const uint64_t version = live ? current.version : 0;
  if (del.condition_case() == internal::DeleteCommand::kIfVersion &&
      del.if_version() != version) {
    result.status =
        FailedPrecondition("version is " + std::to_string(version) + ", not " +
                           std::to_string(del.if_version()));
    result.current_version = version;
    return result;
  }
  if (current.exists) {
    // Also drops an expired record: it is absent anyway.
    batch_.Delete(Column::kData, key);
    StageRecord(key, {});
    RecordChange(del.key());
  }
  result.deleted = live;
  return result;
}

Status Applier::ReadSession(uint64_t client_id, bool* found, Session* session) {
  if (!cache_off_) {
    const std::optional<Session>* known = nullptr;
    auto it = staged_.sessions.find(client_id);
    if (it != staged_.sessions.end()) {
      known = &it->second;
    } else {
      known = core_->apply_cache.FindSession(client_id);
    }
    if (known != nullptr) {
      *found = known->has_value();
      if (*found) *session = **known;
      return Status::Ok();
    }
  }
  std::string value;
  rocksdb::Status s =
      batch_.Get(Column::kSessions, SessionKey(client_id), &value);
  *found = false;
  if (s.IsNotFound()) {
    if (!cache_off_) staged_.sessions[client_id] = std::nullopt;
    return Status::Ok();
  }
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "reading a client session"));
  if (!DecodeSession(value, session)) return Corrupt("client session");
  *found = true;
  if (!cache_off_) staged_.sessions[client_id] = *session;
  return Status::Ok();
}

Status Applier::SweepSessions() {
  std::vector<std::string> expired;
  SHARDKV_RETURN_IF_ERROR(FindExpiredSessions(kSessionSweepLimit, &expired));
  for (const auto& key : expired) {
    const uint64_t client = SessionIndexClient(key);
    WriteSessionIndex(key, false);
    batch_.Delete(Column::kSessions, SessionKey(client));
    if (!cache_off_) staged_.sessions[client] = std::nullopt;
  }
  return Status::Ok();
}

bool Applier::IndexExpired(std::string_view key) const {
  if (key.size() != 17 || key[0] != kSessionIndexPrefix) return false;
  const int64_t bucket = SessionIndexLastSeen(key);
  return bucket + kSessionBucketMs + kSessionIdleMs < state_.clock_ms;
}

Status Applier::FindExpiredSessions(size_t limit,
                                    std::vector<std::string>* keys) {
  if (!batch_.indexed()) return FindExpiredUnindexed(limit, keys);
  std::unique_ptr<rocksdb::Iterator> it = batch_.NewIterator(Column::kSessions);
  for (it->Seek(std::string(1, kSessionIndexPrefix));
       it->Valid() && keys->size() < limit; it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!IndexExpired(key)) break;
    keys->emplace_back(key);
  }
  return FromRocks(it->status(), "sweeping sessions");
}

Status Applier::FindExpiredUnindexed(size_t limit,
                                     std::vector<std::string>* keys) {
  const std::string start(1, kSessionIndexPrefix);
  std::unique_ptr<rocksdb::Iterator> db = batch_.NewIterator(Column::kSessions);
  db->Seek(start);
  auto mine = session_index_.lower_bound(start);
  while (keys->size() < limit) {
    const bool in_db = db->Valid();
    const bool in_batch = mine != session_index_.end();
    if (!in_db && !in_batch) break;
    std::string key;
    bool live = true;
    if (in_batch && (!in_db || mine->first <= db->key().ToStringView())) {
      // This batch's write of a key shadows the DB's.
      if (in_db && db->key().ToStringView() == mine->first) db->Next();
      key = mine->first;
      live = mine->second;
      ++mine;
    } else {
      key = db->key().ToString();
      db->Next();
    }
    if (!live) continue;
    if (!IndexExpired(key)) break;
    keys->push_back(std::move(key));
  }
  return FromRocks(db->status(), "sweeping sessions");
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
  // Older than the batch's writes: see slot_ingest.h for why that is its
  // order.
  SHARDKV_RETURN_IF_ERROR(ingest_.IngestPending());
  batch_.Put(Column::kMeta, kAppliedKey, EncodeAppliedState(state_));
  if (!config_changed_ && changed_entries_.empty()) {
    rocksdb::Status s =
        engine_->db()->Write(StateMachineWrites(), batch_.write_batch());
    SHARDKV_RETURN_IF_ERROR(FromRocks(s, "applying committed entries"));
    PublishCache();
    return Status::Ok();
  }
  // Readers check a slot and read its data under the shared lock: they
  // see both before or both after this batch.
  if (config_changed_) {
    batch_.Put(Column::kSlots, kSlotConfigKey, EncodeSlotConfig(config_));
  }
  for (const auto& [slot, entry] : changed_entries_) {
    batch_.Put(Column::kSlots, SlotEntryKey(slot), EncodeSlotEntry(entry));
  }
  std::unique_lock<std::shared_mutex> lock(core_->slots_mu);
  rocksdb::Status s =
      engine_->db()->Write(StateMachineWrites(), batch_.write_batch());
  SHARDKV_RETURN_IF_ERROR(FromRocks(s, "applying committed entries"));
  PublishCache();
  SlotTable& table = core_->slots;
  if (config_.sharded && table.entries.size() != config_.slot_count) {
    table.entries.assign(config_.slot_count, SlotEntry{});
  }
  table.config = config_;
  for (const auto& [slot, entry] : changed_entries_) {
    if (slot < table.entries.size()) table.entries[slot] = entry;
  }
  return Status::Ok();
}

void Applier::PublishCache() {
  if (cache_off_) {
    core_->apply_cache.Clear();
  } else {
    core_->apply_cache.Publish(std::move(staged_));
  }
}

}  // namespace shardkv::storage
