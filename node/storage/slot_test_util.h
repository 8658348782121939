// Test helpers for slot ownership: a state machine on its own engine with
// an apply helper, keys of a given slot, and a dump of a slot's records.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "common/slot.h"
#include "node/storage/slot_export.h"
#include "node/storage/slots.h"
#include "node/storage/state_machine.h"
#include "node/storage/test_util.h"

namespace shardkv::storage::testing {

// The n-th key ("<tag>-<i>") whose slot is `slot`.
inline std::string KeyOfSlot(uint32_t slot, uint32_t slot_count, int n,
                             const std::string& tag = "key") {
  for (int i = 0;; ++i) {
    std::string key = tag + "-" + std::to_string(i);
    if (SlotOf(key, slot_count) == slot && n-- == 0) return key;
  }
}

struct Node {
  TempDir dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<StateMachine> sm;

  Node() { Open(); }
  void Open() {
    sm.reset();
    engine.reset();
    auto opened = Engine::Open(dir.path(), {});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine = std::move(*opened);
    sm = std::make_unique<StateMachine>(engine.get());
    ASSERT_TRUE(sm->Load().ok());
  }
  std::vector<ApplyResult> Apply(const std::vector<internal::Command>& cmds) {
    std::vector<ApplyResult> out;
    raft::Index index = sm->applied().index + 1;
    Status s = sm->ApplyEntry(CommandEntry(index, 1, cmds), &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  ApplyResult Apply(const internal::Command& cmd) {
    auto out = Apply(std::vector<internal::Command>{cmd});
    return out.empty() ? ApplyResult{} : out[0];
  }
  ReadResult Read(const std::string& key, int64_t now_ms = 0) {
    auto r = sm->Get(key, now_ms);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ReadResult{};
  }
  SlotState StateOf(uint32_t slot) { return sm->Slots().Get(slot).state; }

  // key -> (value, version, expiry) of the slot's records live at now_ms,
  // straight from the data column family.
  using Records =
      std::map<std::string, std::tuple<std::string, uint64_t, int64_t>>;
  Records Dump(uint32_t slot, uint32_t slot_count, int64_t now_ms) {
    Records out;
    std::unique_ptr<rocksdb::Iterator> it(
        engine->db()->NewIterator({}, engine->cf(Column::kData)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string key(UserKey(it->key().ToStringView()));
      if (SlotOf(key, slot_count) != slot) continue;
      std::string_view v = it->value().ToStringView();
      uint64_t version = 0;
      uint64_t expire = 0;
      memcpy(&version, v.data(), 8);  // little endian, see records.cc
      memcpy(&expire, v.data() + 8, 8);
      if (expire != 0 && static_cast<int64_t>(expire) <= now_ms) continue;
      out[key] = {std::string(v.substr(16)), version,
                  static_cast<int64_t>(expire)};
    }
    return out;
  }
};

// Copies one export round from `from` into `to` (one ImportRecords per
// chunk); returns the round's as_of_index (0 on failure).
struct RoundResult {
  uint64_t as_of = 0;
  uint64_t changed = 0;
  bool frozen = false;
  int chunks = 0;
};
inline RoundResult CopyRound(Node& from, Node& to, uint64_t id, uint32_t slot,
                             uint64_t after, uint64_t chunk_bytes = 1 << 20) {
  RoundResult round;
  auto image = from.sm->ExportSlot(id, slot, after);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  if (!image.ok()) return round;
  internal::ExportChunk chunk;
  while ((*image)->NextChunk(chunk_bytes, &chunk)) {
    if (round.chunks++ == 0) round.changed = chunk.changed_keys();
    uint64_t bytes = 0;  // a lower bound of the export's own accounting
    for (const auto& r : chunk.records()) {
      bytes += r.key().size() + r.value().size() + 8;
    }
    if (chunk.records_size() > 1) {
      EXPECT_LE(bytes, chunk_bytes);
    }
    round.as_of = chunk.as_of_index();
    round.frozen = chunk.frozen();
    internal::SlotCommand cmd;
    auto* import = cmd.mutable_import_records();
    import->set_migration_id(id);
    import->set_slot(slot);
    *import->mutable_records() = chunk.records();
    *import->mutable_sessions() = chunk.sessions();
    ApplyResult r = to.Apply(SlotCmd(std::move(cmd)));
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  }
  EXPECT_TRUE((*image)->status().ok()) << (*image)->status().ToString();
  return round;
}

}  // namespace shardkv::storage::testing
