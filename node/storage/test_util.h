// Test helpers for node/storage: a temporary directory removed on
// destruction, and builders of command entries (data and slot commands).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "node/raft/types.h"
#include "shardkv/internal/command.pb.h"

namespace shardkv::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/shardkv-storage-XXXXXX";
    char* made = mkdtemp(pattern.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline internal::Command SetCmd(const std::string& key,
                                const std::string& value, int64_t now_ms,
                                int64_t expire_at_ms = 0) {
  internal::Command c;
  c.set_now_ms(now_ms);
  c.mutable_set()->set_key(key);
  c.mutable_set()->set_value(value);
  c.mutable_set()->set_expire_at_ms(expire_at_ms);
  return c;
}

inline internal::Command DelCmd(const std::string& key, int64_t now_ms) {
  internal::Command c;
  c.set_now_ms(now_ms);
  c.mutable_del()->set_key(key);
  return c;
}

inline internal::Command WithClient(internal::Command c, uint64_t client,
                                    uint64_t sequence) {
  c.set_client_id(client);
  c.set_sequence(sequence);
  return c;
}

inline internal::Command SlotCmd(internal::SlotCommand slot) {
  internal::Command c;
  *c.mutable_slot() = std::move(slot);
  return c;
}

inline internal::Command AssignCmd(uint32_t slot_count,
                                   const std::vector<uint32_t>& slots,
                                   uint64_t epoch) {
  internal::SlotCommand s;
  s.mutable_assign()->set_slot_count(slot_count);
  s.mutable_assign()->set_epoch(epoch);
  for (uint32_t slot : slots) s.mutable_assign()->add_slots(slot);
  return SlotCmd(std::move(s));
}

inline internal::Command BeginImportCmd(uint64_t id, uint32_t slot,
                                        uint32_t slot_count,
                                        uint64_t epoch = 0) {
  internal::SlotCommand s;
  auto* c = s.mutable_begin_import();
  c->set_migration_id(id);
  c->set_slot(slot);
  c->set_slot_count(slot_count);
  c->set_epoch(epoch);
  return SlotCmd(std::move(s));
}

inline internal::Command BeginExportCmd(uint64_t id, uint32_t slot,
                                        uint64_t epoch = 0) {
  internal::SlotCommand s;
  s.mutable_begin_export()->set_migration_id(id);
  s.mutable_begin_export()->set_slot(slot);
  s.mutable_begin_export()->set_epoch(epoch);
  return SlotCmd(std::move(s));
}

inline internal::Command FreezeCmd(uint64_t id, uint32_t slot) {
  internal::SlotCommand s;
  s.mutable_freeze()->set_migration_id(id);
  s.mutable_freeze()->set_slot(slot);
  return SlotCmd(std::move(s));
}

inline internal::Command ActivateCmd(uint64_t id, uint32_t slot,
                                     uint64_t epoch = 0) {
  internal::SlotCommand s;
  s.mutable_activate()->set_migration_id(id);
  s.mutable_activate()->set_slot(slot);
  s.mutable_activate()->set_epoch(epoch);
  return SlotCmd(std::move(s));
}

inline internal::Command ReleaseCmd(uint64_t id, uint32_t slot,
                                    uint64_t epoch = 0) {
  internal::SlotCommand s;
  s.mutable_release()->set_migration_id(id);
  s.mutable_release()->set_slot(slot);
  s.mutable_release()->set_epoch(epoch);
  return SlotCmd(std::move(s));
}

inline internal::Command AbortCmd(uint64_t id, uint32_t slot,
                                  uint64_t epoch = 0) {
  internal::SlotCommand s;
  s.mutable_abort()->set_migration_id(id);
  s.mutable_abort()->set_slot(slot);
  s.mutable_abort()->set_epoch(epoch);
  return SlotCmd(std::move(s));
}

inline raft::Entry CommandEntry(raft::Index index, raft::Term term,
                                const std::vector<internal::Command>& cmds) {
  internal::CommandBatch batch;
  for (const auto& c : cmds) *batch.add_commands() = c;
  raft::Entry e;
  e.index = index;
  e.term = term;
  e.data = batch.SerializeAsString();
  return e;
}

}  // namespace shardkv::storage::testing
