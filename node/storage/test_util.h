// Test helpers for node/storage: a temporary directory removed on
// destruction, and builders of command entries.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

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
