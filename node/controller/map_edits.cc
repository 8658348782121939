#include "node/controller/map_edits.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "common/slot.h"

namespace shardkv::controller {
namespace {

std::string ShardName(uint32_t id) { return "shard " + std::to_string(id); }

v1::Shard* MutableShard(v1::SlotMap* map, uint32_t shard_id) {
  for (v1::Shard& shard : *map->mutable_shards()) {
    if (shard.id() == shard_id) return &shard;
  }
  return nullptr;
}

v1::Migration* MutableMigration(v1::SlotMap* map, uint64_t id) {
  for (v1::Migration& m : *map->mutable_migrations()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

bool NamesShard(const v1::Migration& m, uint32_t shard_id) {
  return m.from_shard() == shard_id || m.to_shard() == shard_id;
}

Status CheckMembers(const v1::JoinShardRequest& request) {
  if (request.members().empty()) {
    return InvalidArgument("members is empty: name the shard's replicas");
  }
  std::set<uint64_t> ids;
  for (const v1::Member& member : request.members()) {
    if (member.id() == 0) return InvalidArgument("a member has id 0");
    if (member.address().empty()) {
      return InvalidArgument("member " + std::to_string(member.id()) +
                             " has no address");
    }
    if (!ids.insert(member.id()).second) {
      return InvalidArgument("member id " + std::to_string(member.id()) +
                             " appears twice");
    }
  }
  return Status::Ok();
}

uint32_t ActiveShards(const v1::SlotMap& map) {
  uint32_t n = 0;
  for (const v1::Shard& shard : map.shards()) {
    if (shard.state() == v1::SHARD_ACTIVE) ++n;
  }
  return n;
}

bool SlotPendingAssignment(const v1::SlotMap& map, uint32_t slot) {
  for (const v1::PendingAssignment& p : map.pending_assignments()) {
    for (uint32_t s : p.slots()) {
      if (s == slot) return true;
    }
  }
  return false;
}

}  // namespace

StatusOr<v1::SlotMap> NewSlotMap(uint32_t slot_count) {
  if (!ValidSlotCount(slot_count)) {
    return InvalidArgument("slot count " + std::to_string(slot_count) +
                           " is not a power of two in [1, 65536]");
  }
  v1::SlotMap map;
  map.set_slot_count(slot_count);
  map.mutable_slot_owner()->Resize(static_cast<int>(slot_count), 0);
  map.set_max_concurrent_migrations(kDefaultMaxConcurrentMigrations);
  map.set_max_slots_per_migration(kDefaultMaxSlotsPerMigration);
  return map;
}

const v1::Shard* FindShard(const v1::SlotMap& map, uint32_t shard_id) {
  for (const v1::Shard& shard : map.shards()) {
    if (shard.id() == shard_id) return &shard;
  }
  return nullptr;
}

const v1::Migration* FindMigration(const v1::SlotMap& map, uint64_t id) {
  for (const v1::Migration& m : map.migrations()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

uint32_t OwnedSlots(const v1::SlotMap& map, uint32_t shard_id) {
  return static_cast<uint32_t>(
      std::count(map.slot_owner().begin(), map.slot_owner().end(), shard_id));
}

Status JoinShard(const v1::JoinShardRequest& request, v1::SlotMap* map) {
  if (request.shard_id() == 0) return InvalidArgument("shard_id must be > 0");
  SHARDKV_RETURN_IF_ERROR(CheckMembers(request));
  v1::Shard* shard = MutableShard(map, request.shard_id());
  if (shard == nullptr) {
    shard = map->add_shards();
    shard->set_id(request.shard_id());
    shard->set_state(v1::SHARD_ACTIVE);
  }
  *shard->mutable_members() = request.members();
  return Status::Ok();
}

Status DrainShard(uint32_t shard_id, v1::SlotMap* map) {
  v1::Shard* shard = MutableShard(map, shard_id);
  if (shard == nullptr) return NotFound(ShardName(shard_id) + " is not known");
  if (shard->state() == v1::SHARD_DRAINING) return Status::Ok();
  if (ActiveShards(*map) <= 1 && OwnedSlots(*map, shard_id) > 0) {
    return FailedPrecondition(ShardName(shard_id) +
                              " is the only ACTIVE shard: no shard could "
                              "take its slots (join another first)");
  }
  shard->set_state(v1::SHARD_DRAINING);
  map->set_rebalancing(true);
  return Status::Ok();
}

Status CancelDrain(uint32_t shard_id, v1::SlotMap* map) {
  v1::Shard* shard = MutableShard(map, shard_id);
  if (shard == nullptr) return NotFound(ShardName(shard_id) + " is not known");
  shard->set_state(v1::SHARD_ACTIVE);
  for (v1::Migration& m : *map->mutable_migrations()) {
    if (m.from_shard() == shard_id && (m.phase() == v1::MIGRATION_PREPARING ||
                                       m.phase() == v1::MIGRATION_COPYING)) {
      m.set_cancelled(true);
    }
  }
  return Status::Ok();
}

Status RemoveShard(uint32_t shard_id, v1::SlotMap* map) {
  if (FindShard(*map, shard_id) == nullptr) {
    return NotFound(ShardName(shard_id) + " is not known");
  }
  if (uint32_t owned = OwnedSlots(*map, shard_id); owned > 0) {
    return FailedPrecondition(ShardName(shard_id) + " still owns " +
                              std::to_string(owned) +
                              " slots (drain it and wait until it owns none)");
  }
  for (const v1::Migration& m : map->migrations()) {
    if (NamesShard(m, shard_id)) {
      return FailedPrecondition(
          ShardName(shard_id) + " is named by migration " +
          std::to_string(m.id()) + " of slot " + std::to_string(m.slot()) +
          " (wait until it finishes)");
    }
  }
  auto* shards = map->mutable_shards();
  for (int i = 0; i < shards->size(); ++i) {
    if (shards->Get(i).id() == shard_id) {
      shards->DeleteSubrange(i, 1);
      break;
    }
  }
  return Status::Ok();
}

uint64_t NextMigrationId(const v1::SlotMap& map, uint32_t index) {
  return ((map.epoch() + 1) << 16) | (index & 0xffff);
}

StatusOr<v1::Migration> AddMigration(uint32_t slot, uint32_t to_shard,
                                     uint64_t migration_id, int64_t now_ms,
                                     v1::SlotMap* map) {
  return AddMigration(std::vector<uint32_t>{slot}, to_shard, migration_id,
                      now_ms, map);
}

StatusOr<v1::Migration> AddMigration(const std::vector<uint32_t>& slots,
                                     uint32_t to_shard, uint64_t migration_id,
                                     int64_t now_ms, v1::SlotMap* map) {
  if (slots.empty()) return InvalidArgument("a migration needs a slot");
  const v1::Shard* to = FindShard(*map, to_shard);
  if (to == nullptr) return NotFound(ShardName(to_shard) + " is not known");
  if (to->state() != v1::SHARD_ACTIVE) {
    return FailedPrecondition(ShardName(to_shard) + " is draining");
  }
  std::map<uint32_t, uint64_t> moving;  // slot -> migration id
  for (const v1::Migration& m : map->migrations()) {
    for (uint32_t s : MigrationSlots(m)) moving[s] = m.id();
  }
  std::set<uint32_t> seen;
  uint32_t from = 0;
  for (uint32_t slot : slots) {
    if (slot >= map->slot_count()) {
      return InvalidArgument("slot " + std::to_string(slot) +
                             " is out of range (slot_count " +
                             std::to_string(map->slot_count()) + ")");
    }
    if (!seen.insert(slot).second) {
      return InvalidArgument("slot " + std::to_string(slot) +
                             " is named twice");
    }
    uint32_t owner = map->slot_owner(static_cast<int>(slot));
    if (owner == 0 || SlotPendingAssignment(*map, slot)) {
      return FailedPrecondition("slot " + std::to_string(slot) +
                                " is not assigned to a shard yet (Rebalance "
                                "assigns it)");
    }
    if (owner == to_shard) {
      return FailedPrecondition("slot " + std::to_string(slot) +
                                " is already owned by " + ShardName(to_shard));
    }
    if (from != 0 && owner != from) {
      return InvalidArgument(
          "slots of one migration must share a source: "
          "slot " +
          std::to_string(slot) + " is on " + ShardName(owner) + ", not " +
          ShardName(from));
    }
    from = owner;
    if (auto it = moving.find(slot); it != moving.end()) {
      return FailedPrecondition("slot " + std::to_string(slot) +
                                " is already moving (migration " +
                                std::to_string(it->second) + ")");
    }
  }
  if (static_cast<uint32_t>(map->migrations_size()) >=
      map->max_concurrent_migrations()) {
    return ResourceExhausted(
        std::to_string(map->migrations_size()) +
        " migrations in flight (max_concurrent_migrations); retry later");
  }
  v1::Migration* m = map->add_migrations();
  m->set_id(migration_id);
  m->set_slot(slots.front());
  m->mutable_slots()->Assign(slots.begin(), slots.end());
  m->set_from_shard(from);
  m->set_to_shard(to_shard);
  m->set_phase(v1::MIGRATION_PREPARING);
  m->set_started_ms(now_ms);
  return *m;
}

StatusOr<RebalancePlan> StartRebalance(v1::SlotMap* map) {
  if (ActiveShards(*map) == 0) {
    return FailedPrecondition("no ACTIVE shard: join a shard first");
  }
  RebalancePlan plan = PlanRebalance(*map);
  std::map<uint32_t, v1::PendingAssignment*> pending;
  for (v1::PendingAssignment& p : *map->mutable_pending_assignments()) {
    pending[p.shard_id()] = &p;
  }
  for (auto [slot, shard] : plan.assignments) {
    map->set_slot_owner(static_cast<int>(slot), shard);
    v1::PendingAssignment*& p = pending[shard];
    if (p == nullptr) {
      p = map->add_pending_assignments();
      p->set_shard_id(shard);
    }
    p->add_slots(slot);
  }
  map->set_rebalancing(!plan.moves.empty());
  return plan;
}

Status StartPlannedMoves(int64_t now_ms, v1::SlotMap* map) {
  if (!map->rebalancing() || !map->pending_assignments().empty()) {
    return Status::Ok();
  }
  RebalancePlan plan = PlanRebalance(*map);
  if (plan.moves.empty()) {
    // Slots still moving into a shard that started draining after they
    // left are planned again once they land: keep rebalancing until then.
    for (const v1::Migration& m : map->migrations()) {
      const v1::Shard* to = FindShard(*map, m.to_shard());
      if (!m.cancelled() && to != nullptr && to->state() != v1::SHARD_ACTIVE) {
        return Status::Ok();
      }
    }
    map->set_rebalancing(false);
    return Status::Ok();
  }
  uint32_t index = 0;
  for (const PlannedBatch& batch : BatchesToStart(*map, plan)) {
    auto added = AddMigration(batch.slots, batch.to_shard,
                              NextMigrationId(*map, index++), now_ms, map);
    if (!added.ok()) return added.status();
  }
  return Status::Ok();
}

Status SetMigrationPhase(uint64_t id, v1::MigrationPhase from,
                         v1::MigrationPhase to, uint64_t keys_copied,
                         uint64_t bytes_copied, v1::SlotMap* map) {
  v1::Migration* m = MutableMigration(map, id);
  if (m == nullptr) {
    return FailedPrecondition("migration " + std::to_string(id) + " is gone");
  }
  if (m->phase() != from) {
    return FailedPrecondition("migration " + std::to_string(id) + " is in " +
                              v1::MigrationPhase_Name(m->phase()));
  }
  if (m->cancelled()) {
    return FailedPrecondition("migration " + std::to_string(id) +
                              " was cancelled");
  }
  m->set_phase(to);
  m->set_keys_copied(keys_copied);
  m->set_bytes_copied(bytes_copied);
  return Status::Ok();
}

Status SwitchOwner(uint64_t id, uint64_t keys_copied, uint64_t bytes_copied,
                   v1::SlotMap* map) {
  SHARDKV_RETURN_IF_ERROR(SetMigrationPhase(id, v1::MIGRATION_FREEZING,
                                            v1::MIGRATION_SWITCHED, keys_copied,
                                            bytes_copied, map));
  const v1::Migration* m = FindMigration(*map, id);
  for (uint32_t slot : MigrationSlots(*m)) {
    map->set_slot_owner(static_cast<int>(slot), m->to_shard());
  }
  return Status::Ok();
}

Status FinishMigration(uint64_t id, v1::SlotMap* map) {
  auto* migrations = map->mutable_migrations();
  for (int i = 0; i < migrations->size(); ++i) {
    const v1::Migration& m = migrations->Get(i);
    if (m.id() != id) continue;
    v1::MigrationTotals* totals = map->mutable_totals();
    if (m.phase() == v1::MIGRATION_SWITCHED) {
      totals->set_slots_moved(totals->slots_moved() + MigrationSlots(m).size());
      totals->set_keys_moved(totals->keys_moved() + m.keys_copied());
      totals->set_bytes_moved(totals->bytes_moved() + m.bytes_copied());
    } else if (m.cancelled() && m.phase() < v1::MIGRATION_FREEZING) {
      totals->set_cancelled(totals->cancelled() + MigrationSlots(m).size());
    } else {
      return FailedPrecondition("migration " + std::to_string(id) + " is in " +
                                v1::MigrationPhase_Name(m.phase()) +
                                "; it cannot finish yet");
    }
    migrations->DeleteSubrange(i, 1);
    return Status::Ok();
  }
  return FailedPrecondition("migration " + std::to_string(id) + " is gone");
}

Status ConfirmAssignment(uint32_t shard_id, const std::vector<uint32_t>& slots,
                         v1::SlotMap* map) {
  std::set<uint32_t> confirmed(slots.begin(), slots.end());
  auto* pending = map->mutable_pending_assignments();
  for (int i = 0; i < pending->size(); ++i) {
    v1::PendingAssignment* p = pending->Mutable(i);
    if (p->shard_id() != shard_id) continue;
    std::vector<uint32_t> left;
    for (uint32_t s : p->slots()) {
      if (!confirmed.count(s)) left.push_back(s);
    }
    if (left.empty()) {
      pending->DeleteSubrange(i, 1);
    } else {
      p->mutable_slots()->Assign(left.begin(), left.end());
    }
    break;
  }
  return Status::Ok();
}

}  // namespace shardkv::controller
