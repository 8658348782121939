#include "orchestration/fake_cluster.h"

#include <algorithm>
#include <set>

namespace shardkv::orchestration {
namespace {

v1::Member MakeMember(ShardId shard, ReplicaId id) {
  v1::Member m;
  m.set_id(id);
  m.set_address("shard" + std::to_string(shard) + "-replica" +
                std::to_string(id) + ":7000");
  return m;
}

}  // namespace

FakeCluster::FakeCluster(uint32_t slot_count, int replicas)
    : replicas_per_shard_(replicas) {
  map_.set_epoch(1);
  map_.set_slot_count(slot_count);
  map_.set_max_concurrent_migrations(2);
  for (uint32_t i = 0; i < slot_count; ++i) map_.add_slot_owner(0);
}

StatusOr<std::vector<v1::Member>> FakeCluster::CreateShard(ShardId shard) {
  if (!replicas_.count(shard)) {
    for (int i = 1; i <= replicas_per_shard_; ++i) {
      replicas_[shard].push_back(MakeMember(shard, i));
    }
    raft_[shard] = replicas_[shard];
  }
  return replicas_[shard];
}

Status FakeCluster::DeleteShard(ShardId shard) {
  replicas_.erase(shard);
  raft_.erase(shard);
  return Status::Ok();
}

StatusOr<std::vector<v1::Member>> FakeCluster::ShardReplicas(ShardId shard) {
  auto it = replicas_.find(shard);
  if (it == replicas_.end()) return NotFound("no replicas of that shard");
  return it->second;
}

Status FakeCluster::WaitShardReady(ShardId shard, std::chrono::milliseconds) {
  if (!replicas_.count(shard)) return NotFound("shard does not run");
  restarting_.erase(shard);
  return Status::Ok();
}

StatusOr<v1::Member> FakeCluster::CreateReplica(ShardId shard, ReplicaId id,
                                                ReplicaId /*replaces*/) {
  if (!replicas_.count(shard)) return NotFound("shard does not run");
  for (const v1::Member& m : replicas_[shard]) {
    if (m.id() == id) return m;
  }
  replicas_[shard].push_back(MakeMember(shard, id));
  return replicas_[shard].back();
}

Status FakeCluster::DeleteReplica(ShardId shard, ReplicaId id) {
  auto& list = replicas_[shard];
  std::erase_if(list, [&](const v1::Member& m) { return m.id() == id; });
  return Status::Ok();
}

StatusOr<std::vector<ReplicaId>> FakeCluster::ReplicasToUpgrade(ShardId shard) {
  if (!replicas_.count(shard)) return NotFound("shard does not run");
  std::vector<ReplicaId> ids;
  for (const v1::Member& m : replicas_[shard]) {
    if (VersionOf(shard, m.id()) < version_) ids.push_back(m.id());
  }
  return ids;
}

Status FakeCluster::RestartReplica(ShardId shard, ReplicaId id) {
  auto running = RunningReplicas(shard);
  if (std::count(running.begin(), running.end(), id) == 0) {
    return NotFound("no such replica");
  }
  if (Leader(shard) == id) {
    return FailedPrecondition("restarting the leader: move leadership first");
  }
  if (auto it = restarting_.find(shard);
      it != restarting_.end() && it->second != id) {
    return FailedPrecondition("replica " + std::to_string(it->second) +
                              " is still restarting");
  }
  restarting_[shard] = id;
  versions_[{shard, id}] = version_;
  restarts_.push_back({shard, id});
  return Status::Ok();
}

uint64_t FakeCluster::VersionOf(ShardId shard, ReplicaId id) const {
  auto it = versions_.find({shard, id});
  return it == versions_.end() ? 0 : it->second;
}

ReplicaId FakeCluster::Leader(ShardId shard) const {
  if (auto it = leaders_.find(shard); it != leaders_.end()) return it->second;
  for (const v1::Member& m : RaftMembers(shard)) {
    if (!m.learner()) return m.id();
  }
  return 0;
}

std::vector<ReplicaId> FakeCluster::RunningReplicas(ShardId shard) const {
  std::vector<ReplicaId> ids;
  if (auto it = replicas_.find(shard); it != replicas_.end()) {
    for (const v1::Member& m : it->second) ids.push_back(m.id());
  }
  return ids;
}

std::vector<v1::Member> FakeCluster::RaftMembers(ShardId shard) const {
  auto it = raft_.find(shard);
  return it == raft_.end() ? std::vector<v1::Member>() : it->second;
}

v1::Shard* FakeCluster::Find(ShardId shard) {
  for (v1::Shard& s : *map_.mutable_shards()) {
    if (s.id() == shard) return &s;
  }
  return nullptr;
}

StatusOr<v1::SlotMap> FakeCluster::GetMap() {
  ++get_map_calls_;
  Advance();
  return map_;
}

StatusOr<v1::SlotMap> FakeCluster::JoinShard(
    ShardId shard, const std::vector<v1::Member>& members) {
  v1::Shard* s = Find(shard);
  if (s == nullptr) {
    s = map_.add_shards();
    s->set_id(shard);
    s->set_state(v1::SHARD_ACTIVE);
  }
  s->clear_members();
  for (const v1::Member& m : members) *s->add_members() = m;
  Bump();
  return map_;
}

StatusOr<v1::SlotMap> FakeCluster::DrainShard(ShardId shard) {
  v1::Shard* s = Find(shard);
  if (s == nullptr) return NotFound("no such shard");
  if (s->state() == v1::SHARD_DRAINING) {
    return FailedPrecondition("already draining");
  }
  s->set_state(v1::SHARD_DRAINING);
  map_.set_rebalancing(true);
  Bump();
  return map_;
}

StatusOr<v1::SlotMap> FakeCluster::CancelDrain(ShardId shard) {
  v1::Shard* s = Find(shard);
  if (s == nullptr) return NotFound("no such shard");
  if (s->state() != v1::SHARD_DRAINING)
    return FailedPrecondition("not draining");
  s->set_state(v1::SHARD_ACTIVE);
  auto* migrations = map_.mutable_migrations();
  for (int i = migrations->size() - 1; i >= 0; --i) {
    if (migrations->Get(i).from_shard() != shard) continue;
    migrations->DeleteSubrange(i, 1);
    map_.mutable_totals()->set_cancelled(map_.totals().cancelled() + 1);
  }
  Bump();
  return map_;
}

StatusOr<v1::SlotMap> FakeCluster::RemoveShard(ShardId shard) {
  if (Find(shard) == nullptr) return NotFound("no such shard");
  if (!Drained(map_, shard)) return FailedPrecondition("not drained");
  auto* shards = map_.mutable_shards();
  for (int i = 0; i < shards->size(); ++i) {
    if (shards->Get(i).id() == shard) shards->DeleteSubrange(i, 1);
  }
  Bump();
  return map_;
}

StatusOr<v1::RebalanceResponse> FakeCluster::Rebalance() {
  std::vector<ShardId> active;
  for (const v1::Shard& s : map_.shards()) {
    if (s.state() == v1::SHARD_ACTIVE) active.push_back(s.id());
  }
  if (active.empty()) return FailedPrecondition("no active shard");
  v1::RebalanceResponse response;
  size_t next = 0;
  for (uint32_t& owner : *map_.mutable_slot_owner()) {
    if (owner != 0) continue;
    owner = active[next++ % active.size()];
    response.set_assigned(response.assigned() + 1);
  }
  for (const v1::PlannedMove& move : Plan()) *response.add_moves() = move;
  map_.set_rebalancing(true);
  Bump();
  *response.mutable_map() = map_;
  return response;
}

std::vector<v1::PlannedMove> FakeCluster::Plan() const {
  std::map<ShardId, int> load;
  std::set<ShardId> draining;
  for (const v1::Shard& s : map_.shards()) {
    if (s.state() == v1::SHARD_ACTIVE) load[s.id()] = 0;
    if (s.state() == v1::SHARD_DRAINING) draining.insert(s.id());
  }
  if (load.empty()) return {};
  std::set<uint32_t> moving;
  for (const v1::Migration& m : map_.migrations()) {
    moving.insert(m.slot());
    if (load.count(m.to_shard())) ++load[m.to_shard()];
  }
  std::map<ShardId, std::vector<uint32_t>> movable;
  for (int slot = 0; slot < map_.slot_owner_size(); ++slot) {
    ShardId owner = map_.slot_owner(slot);
    bool in_flight = moving.count(slot) > 0;
    if (load.count(owner) && !in_flight) ++load[owner];
    if (!in_flight && owner != 0) movable[owner].push_back(slot);
  }
  auto least = [&] {
    return std::min_element(load.begin(), load.end(), [](auto& a, auto& b) {
      return a.second < b.second;
    });
  };
  std::vector<v1::PlannedMove> moves;
  auto add = [&](uint32_t slot, ShardId from, ShardId to) {
    v1::PlannedMove m;
    m.set_slot(slot);
    m.set_from_shard(from);
    m.set_to_shard(to);
    moves.push_back(m);
  };
  for (ShardId d : draining) {
    for (uint32_t slot : movable[d]) {
      auto to = least();
      add(slot, d, to->first);
      ++to->second;
    }
  }
  while (true) {
    auto most =
        std::max_element(load.begin(), load.end(),
                         [](auto& a, auto& b) { return a.second < b.second; });
    auto to = least();
    if (most->second - to->second <= 1 || movable[most->first].empty()) break;
    add(movable[most->first].back(), most->first, to->first);
    movable[most->first].pop_back();
    --most->second;
    ++to->second;
  }
  return moves;
}

void FakeCluster::Advance() {
  for (const v1::Migration& m : map_.migrations()) {
    map_.set_slot_owner(m.slot(), m.to_shard());
    auto* totals = map_.mutable_totals();
    totals->set_slots_moved(totals->slots_moved() + 1);
    totals->set_bytes_moved(totals->bytes_moved() + 1000);
    Bump();
  }
  map_.clear_migrations();
  if (!map_.rebalancing()) return;
  std::vector<v1::PlannedMove> plan = Plan();
  for (const v1::PlannedMove& move : plan) {
    if (map_.migrations_size() >=
        static_cast<int>(map_.max_concurrent_migrations())) {
      break;
    }
    v1::Migration* m = map_.add_migrations();
    m->set_id(next_migration_id_++);
    m->set_slot(move.slot());
    m->set_from_shard(move.from_shard());
    m->set_to_shard(move.to_shard());
    m->set_phase(v1::MIGRATION_COPYING);
    m->set_bytes_copied(500);
  }
  if (plan.empty()) map_.set_rebalancing(false);
  Bump();
}

StatusOr<v1::StatusResponse> FakeCluster::LeaderStatus(ShardId shard) {
  auto it = raft_.find(shard);
  if (it == raft_.end()) return Unavailable("no leader: shard does not run");
  v1::StatusResponse status;
  status.set_commit_index(1000);
  status.set_leader_id(Leader(shard));
  for (v1::Member m : it->second) {
    if (m.learner()) {
      // A learner catches up over a few polls.
      uint64_t& progress = learner_progress_[m.id()];
      progress = std::min<uint64_t>(progress + 400, 1000);
      m.set_match_index(progress);
    } else {
      m.set_match_index(1000);
    }
    *status.add_members() = m;
  }
  return status;
}

Status FakeCluster::AddLearner(ShardId shard, ReplicaId id,
                               const std::string& address) {
  auto& members = raft_[shard];
  for (const v1::Member& m : members) {
    if (m.id() == id) return Status(Code::kAlreadyExists, "already a member");
  }
  v1::Member m;
  m.set_id(id);
  m.set_address(address);
  m.set_learner(true);
  members.push_back(m);
  return Status::Ok();
}

Status FakeCluster::Promote(ShardId shard, ReplicaId id) {
  for (v1::Member& m : raft_[shard]) {
    if (m.id() != id) continue;
    if (!m.learner()) return FailedPrecondition("already a voter");
    m.set_learner(false);
    return Status::Ok();
  }
  return NotFound("no such member");
}

Status FakeCluster::RemoveMember(ShardId shard, ReplicaId id) {
  auto& members = raft_[shard];
  auto before = members.size();
  std::erase_if(members, [&](const v1::Member& m) { return m.id() == id; });
  if (members.size() == before) return NotFound("no such member");
  if (leaders_.count(shard) && leaders_[shard] == id) leaders_.erase(shard);
  return Status::Ok();
}

Status FakeCluster::TransferLeadership(ShardId shard, ReplicaId to) {
  for (const v1::Member& m : RaftMembers(shard)) {
    if (m.id() != to) continue;
    if (m.learner()) return FailedPrecondition("a learner cannot lead");
    leaders_[shard] = to;
    return Status::Ok();
  }
  return NotFound("no such member");
}

}  // namespace shardkv::orchestration
