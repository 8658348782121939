#include "tests/chaos/chaos_checks.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <map>

#include "client/error_detail.h"
#include "common/slot.h"
#include "shardkv/internal/shard_control.grpc.pb.h"
#include "tests/harness/checks.h"

namespace shardkv::test {

using lincheck::Operation;
using lincheck::OpKind;
using lincheck::Outcome;

namespace {

// What a write leaves in the key: absent, or a value.
struct Effect {
  bool present = false;
  std::string value;
};

Effect EffectOf(const Operation& op) {
  if (op.input.kind == OpKind::kSet) return Effect{true, op.input.value};
  return Effect{false, ""};
}

bool MayHaveTakenEffect(const Operation& op) {
  return op.input.kind != OpKind::kGet &&
         op.output.outcome != Outcome::kConditionFailed;
}

}  // namespace

std::vector<std::string> FindLostWrites(const std::vector<Operation>& ops) {
  std::map<std::string, std::vector<const Operation*>> by_key;
  std::map<std::string, bool> has_ttl;
  for (const Operation& op : ops) {
    by_key[op.input.key].push_back(&op);
    if (op.input.has_ttl) has_ttl[op.input.key] = true;
  }
  std::vector<std::string> lost;
  for (const auto& [key, key_ops] : by_key) {
    if (has_ttl[key]) continue;
    const Operation* final_read = nullptr;
    const Operation* last_acked = nullptr;
    for (const Operation* op : key_ops) {
      if (op->client == 0 && op->input.kind == OpKind::kGet &&
          op->output.outcome == Outcome::kOk &&
          (final_read == nullptr || op->call_ns > final_read->call_ns)) {
        final_read = op;
      }
      if (op->input.kind != OpKind::kGet &&
          op->output.outcome == Outcome::kOk &&
          (last_acked == nullptr || op->return_ns > last_acked->return_ns)) {
        last_acked = op;
      }
    }
    if (final_read == nullptr || last_acked == nullptr) continue;
    // Allowed: the last acknowledged write's effect, or the effect of any
    // write that may have taken effect after it (called before it returned
    // or later, and not known to have failed).
    std::vector<Effect> allowed = {EffectOf(*last_acked)};
    for (const Operation* op : key_ops) {
      if (op == last_acked || !MayHaveTakenEffect(*op)) continue;
      if (op->return_ns > last_acked->call_ns) allowed.push_back(EffectOf(*op));
    }
    bool ok = false;
    for (const Effect& e : allowed) {
      if (e.present == final_read->output.found &&
          (!e.present || e.value == final_read->output.value)) {
        ok = true;
      }
    }
    if (!ok) {
      lost.push_back(key + ": last acknowledged " +
                     lincheck::DescribeOp(*last_acked) + ", final read " +
                     lincheck::DescribeOp(*final_read));
    }
  }
  return lost;
}

Status CheckSlotOwnership(ShardedCluster& cluster, const v1::SlotMap& map) {
  std::string problems;
  int count = 0;
  auto note = [&](const std::string& p) {
    if (++count <= 20) problems += "\n  " + p;
  };
  for (uint32_t s : cluster.shard_ids()) {
    ShardCluster& group = cluster.shard(s);
    for (NodeId id : group.ids()) {
      if (!group.IsRunning(id)) continue;
      auto stub = internal::ShardControl::NewStub(grpc::CreateChannel(
          group.address(id), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      internal::SlotsResponse slots;
      grpc::Status st = stub->Slots(&context, internal::SlotsRequest(), &slots);
      if (!st.ok()) {
        note("shard " + std::to_string(s) + " node " + std::to_string(id) +
             ": Slots failed: " + st.error_message());
        continue;
      }
      std::vector<bool> owned(map.slot_count(), false);
      for (const internal::SlotInfo& info : slots.slots()) {
        if (info.slot() >= map.slot_count()) {
          note("node " + std::to_string(id) + " reports slot " +
               std::to_string(info.slot()) + " beyond the slot count");
          continue;
        }
        if (info.state() != internal::SLOT_OWNED) {
          note("shard " + std::to_string(s) + " node " + std::to_string(id) +
               ": slot " + std::to_string(info.slot()) + " is " +
               internal::SlotState_Name(info.state()) + " with no migration");
          continue;
        }
        owned[info.slot()] = true;
      }
      for (uint32_t slot = 0; slot < map.slot_count(); ++slot) {
        bool map_says = map.slot_owner(static_cast<int>(slot)) == s;
        if (owned[slot] != map_says) {
          note("slot " + std::to_string(slot) + ": map owner " +
               std::to_string(map.slot_owner(static_cast<int>(slot))) +
               ", but shard " + std::to_string(s) + " node " +
               std::to_string(id) + (owned[slot] ? " owns it" : " does not"));
        }
      }
    }
  }
  if (count == 0) return Status::Ok();
  return Internal(std::to_string(count) +
                  " slot ownership problems:" + problems);
}

Status CheckShardReplicasAgree(ShardedCluster& cluster, const v1::SlotMap& map,
                               const std::vector<std::string>& keys) {
  for (uint32_t s : cluster.shard_ids()) {
    std::vector<std::string> owned;
    for (const std::string& key : keys) {
      if (map.slot_owner(static_cast<int>(SlotOf(key, map.slot_count()))) ==
          s) {
        owned.push_back(key);
      }
    }
    ShardCluster& group = cluster.shard(s);
    std::vector<NodeId> running;
    for (NodeId id : group.ids()) {
      if (group.IsRunning(id)) running.push_back(id);
    }
    Status agree = CheckReplicasAgree(group, running, owned);
    if (!agree.ok()) {
      return Internal("shard " + std::to_string(s) + ": " + agree.message());
    }
  }
  return Status::Ok();
}

std::vector<std::string> FindSanitizerReports(
    const std::vector<std::string>& logs) {
  static const char* kMarkers[] = {
      "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
      "runtime error:", "WARNING: ThreadSanitizer"};
  std::vector<std::string> out;
  for (const std::string& path : logs) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      for (const char* marker : kMarkers) {
        if (line.find(marker) != std::string::npos) {
          out.push_back(path + ": " + line);
        }
      }
    }
  }
  return out;
}

}  // namespace shardkv::test
