#include "node/raft/testing/sim_cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace shardkv::raft::testing {

SimCluster::SimCluster(const SimOptions& options)
    : options_(options),
      rng_(options.seed),
      trace_(std::getenv("SHARDKV_SIM_TRACE") != nullptr) {
  ConfState conf;
  for (int i = 1; i <= options.voters; ++i) {
    conf.voters.push_back(static_cast<NodeId>(i));
  }
  for (NodeId id : conf.voters) {
    SimNode& n = nodes_[id];
    n.storage = std::make_unique<MemoryLogStorage>(conf);
    n.conf = conf;
    n.tick_phase = static_cast<int>(rng_() % options_.tick_every);
    n.raw = std::make_unique<RawNode>(ConfigFor(id), n.storage.get());
  }
  // Persist and apply the bootstrap entries.
  for (NodeId id : conf.voters) HandleReady(id);
}

Config SimCluster::ConfigFor(NodeId id) const {
  Config c = options_.raft;
  c.id = id;
  c.random_seed = options_.seed * 7919 + id;
  c.async_storage_writes = options_.async_writes;
  auto it = nodes_.find(id);
  c.applied = it == nodes_.end() ? 0 : it->second.sm.applied;
  return c;
}

RawNode* SimCluster::node(NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.raw.get();
}

std::vector<NodeId> SimCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

bool SimCluster::alive(NodeId id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second.raw != nullptr;
}

void SimCluster::Crash(NodeId id) {
  SimNode& n = nodes_.at(id);
  n.raw.reset();
  stats_.writes_lost_in_crashes += n.writes.size();
  n.writes.clear();
  n.received_snapshots.clear();
  n.read_states.clear();
}

void SimCluster::Restart(NodeId id) {
  SimNode& n = nodes_.at(id);
  if (n.raw) return;
  n.raw = std::make_unique<RawNode>(ConfigFor(id), n.storage.get());
  Fail(checker_.RecordCommitIndex(id, n.raw->GetStatus().hard_state.commit));
}

void SimCluster::AddNode(NodeId id) {
  SimNode& n = nodes_[id];
  n.storage = std::make_unique<MemoryLogStorage>();
  n.tick_phase = static_cast<int>(rng_() % options_.tick_every);
  n.raw = std::make_unique<RawNode>(ConfigFor(id), n.storage.get());
}

void SimCluster::Tick(NodeId id) {
  if (RawNode* r = node(id)) r->Tick();
}

NodeId SimCluster::Leader() const {
  NodeId best = kNoNode;
  Term best_term = 0;
  for (const auto& [id, n] : nodes_) {
    if (!n.raw) continue;
    RaftStatus s = n.raw->GetStatus();
    if (s.soft_state.role == Role::kLeader && s.hard_state.term >= best_term) {
      best = id;
      best_term = s.hard_state.term;
    }
  }
  return best;
}

SmImage SimCluster::image(NodeId id) const { return nodes_.at(id).sm; }

const MemoryLogStorage& SimCluster::storage(NodeId id) const {
  return *nodes_.at(id).storage;
}

void SimCluster::Compact(NodeId id) {
  SimNode& n = nodes_.at(id);
  if (n.sm.applied <= n.storage->Snapshot().index) return;
  n.snapshots[n.sm.applied] = n.sm;
  Status st = n.storage->Compact(n.sm.applied, n.conf);
  if (!st.ok()) Fail("compact: " + st.ToString());
}

void SimCluster::Isolate(NodeId id) { Partition({id}); }

void SimCluster::Partition(const std::set<NodeId>& side) {
  partition_side_.clear();
  for (const auto& [id, n] : nodes_) partition_side_[id] = side.count(id);
}

void SimCluster::Heal() { partition_side_.clear(); }

bool SimCluster::Reachable(NodeId from, NodeId to) const {
  if (partition_side_.empty()) return true;
  auto a = partition_side_.find(from);
  auto b = partition_side_.find(to);
  int side_a = a == partition_side_.end() ? 0 : a->second;
  int side_b = b == partition_side_.end() ? 0 : b->second;
  return side_a == side_b;
}

StatusOr<std::vector<LogPosition>> SimCluster::Propose(NodeId id,
                                                       std::string data) {
  RawNode* r = node(id);
  if (r == nullptr) return Unavailable("node is down");
  std::vector<std::string> batch;
  batch.push_back(std::move(data));
  return r->Propose(std::move(batch));
}

Status SimCluster::ReadIndex(NodeId id, const std::string& context) {
  RawNode* r = node(id);
  if (r == nullptr) return Unavailable("node is down");
  checker_.RecordReadRequest(context);
  return r->ReadIndex(context);
}

bool SimCluster::Committed(const LogPosition& pos) const {
  auto it = checker_.applied().find(pos.index);
  return it != checker_.applied().end() && it->second.first == pos.term;
}

void SimCluster::Step() {
  ++now_;
  // Deliver due packets; packets with random delays arrive reordered.
  std::vector<Packet> due;
  std::vector<Packet> later;
  for (Packet& p : network_) {
    (p.deliver_at <= now_ ? due : later).push_back(std::move(p));
  }
  network_ = std::move(later);
  std::shuffle(due.begin(), due.end(), rng_);
  for (const Packet& p : due) {
    Deliver(p);
    HandleReady(p.message.to);
  }
  for (auto& [id, n] : nodes_) {
    if (n.raw && static_cast<int>(now_ % options_.tick_every) == n.tick_phase) {
      n.raw->Tick();
    }
  }
  for (NodeId id : ids()) {
    CompleteWrites(id, /*all=*/false);
    HandleReady(id);
  }
  CheckStep();
  if (trace_) {
    std::fprintf(stderr, "after step %llu:\n%s", (unsigned long long)now_,
                 DebugString().c_str());
  }
}

void SimCluster::Run(int steps) {
  for (int i = 0; i < steps && violation_.empty(); ++i) Step();
}

bool SimCluster::RunUntil(const std::function<bool()>& pred, int max_steps) {
  for (int i = 0; i < max_steps && violation_.empty(); ++i) {
    if (pred()) return true;
    Step();
  }
  return pred();
}

bool SimCluster::Settle(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    bool writing = false;
    for (NodeId id : ids()) {
      writing |= !nodes_.at(id).writes.empty();
      CompleteWrites(id, /*all=*/true);
      HandleReady(id);
    }
    if (network_.empty() && !writing) {
      CheckStep();
      return true;
    }
    std::vector<Packet> packets = std::move(network_);
    network_.clear();
    for (const Packet& p : packets) {
      Deliver(p);
      HandleReady(p.message.to);
    }
    CheckStep();
  }
  return false;
}

void SimCluster::Deliver(const Packet& p) {
  const Message& m = p.message;
  auto it = nodes_.find(m.to);
  bool delivered = it != nodes_.end() && it->second.raw != nullptr &&
                   Reachable(m.from, m.to);
  if (delivered) {
    if (trace_) {
      std::fprintf(stderr, "  %s %llu->%llu t%llu i%llu lt%llu c%llu n%zu%s\n",
                   MessageTypeName(m.type), (unsigned long long)m.from,
                   (unsigned long long)m.to, (unsigned long long)m.term,
                   (unsigned long long)m.index, (unsigned long long)m.log_term,
                   (unsigned long long)m.commit, m.entries.size(),
                   m.reject ? " reject" : "");
    }
    if (p.image) it->second.received_snapshots[m.snapshot.index] = *p.image;
    Status st = it->second.raw->Step(m);
    if (!st.ok()) Fail("step: " + st.ToString());
  }
  // The sender's server learns how streaming the snapshot ended.
  if (m.type == MessageType::kSnapshot) {
    if (RawNode* sender = node(m.from)) {
      sender->ReportSnapshot(m.to, delivered);
      HandleReady(m.from);
    }
  }
}

void SimCluster::HandleReady(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  SimNode& n = it->second;
  while (n.raw && n.raw->HasReady() && violation_.empty()) {
    Ready rd = n.raw->GetReady();
    if (options_.async_writes) {
      QueueWrite(id, n, rd);
    } else {
      Persist(id, n, rd);
    }
    CheckDurableCommit(id);
    if (crash_in_ready_rate_ > 0 && std::uniform_real_distribution<double>(
                                        0, 1)(rng_) < crash_in_ready_rate_) {
      ++stats_.crashes_in_ready;
      Crash(id);
      return;
    }
    SendAll(id, n, std::move(rd.messages));
    for (const Entry& e : rd.committed_entries) Apply(id, n, e);
    for (const ReadState& rs : rd.read_states) {
      Fail(checker_.RecordReadState(rs.context, rs.index));
      n.read_states.push_back(rs);
    }
    n.raw->Advance(rd);
    // Streams that failed at once are reported after the Ready.
    for (auto [from, to] : std::exchange(failed_snapshots_, {})) {
      if (RawNode* sender = node(from)) sender->ReportSnapshot(to, false);
    }
  }
}

void SimCluster::Persist(NodeId id, SimNode& n, const Ready& rd) {
  if (rd.snapshot) {
    auto img = n.received_snapshots.find(rd.snapshot->index);
    if (img == n.received_snapshots.end()) {
      Fail("node " + std::to_string(id) + " installs an unknown snapshot");
      return;
    }
    Fail(checker_.CheckSnapshotImage(id, img->first, img->second.hash));
    Status st = n.storage->ApplySnapshot(*rd.snapshot);
    if (!st.ok()) Fail("apply snapshot: " + st.ToString());
    n.sm = img->second;
    n.conf = rd.snapshot->conf;
    n.snapshots[img->first] = img->second;
    ++stats_.snapshots_installed;
  }
  Status st = n.storage->Append(rd.entries);
  if (!st.ok()) Fail("append: " + st.ToString());
  Fail(checker_.RecordPersisted(id, rd.entries, *n.storage));
  if (rd.hard_state) {
    n.storage->SetHardState(*rd.hard_state);
    Fail(checker_.RecordCommitIndex(id, rd.hard_state->commit));
  }
}

void SimCluster::QueueWrite(NodeId id, SimNode& n, Ready& rd) {
  PendingWrite w;
  w.ready.hard_state = rd.hard_state;
  w.ready.entries = rd.entries;
  w.ready.snapshot = rd.snapshot;
  w.ready.messages_after_persist = std::move(rd.messages_after_persist);
  w.ready.persist = rd.persist;
  if (rd.snapshot && rng_() % 2 == 0) {
    // The synchronous strategy: drain the writer, then write on the raft
    // thread before sending or applying anything of this Ready.
    CompleteWrites(id, /*all=*/true);
    Persist(id, n, w.ready);
    SendAll(id, n, std::move(w.ready.messages_after_persist));
    n.raw->OnPersisted(w.ready.persist);
    return;
  }
  uint64_t delay =
      rng_() % static_cast<uint64_t>(options_.max_persist_delay + 1);
  w.done_at = now_ + delay;
  // The writer completes in order.
  if (!n.writes.empty()) {
    w.done_at = std::max(w.done_at, n.writes.back().done_at);
  }
  n.writes.push_back(std::move(w));
}

void SimCluster::CompleteWrites(NodeId id, bool all) {
  SimNode& n = nodes_.at(id);
  // Classic mode never queues: draw nothing from the generator, so seeds
  // replay as before.
  if (n.writes.empty()) return;
  size_t done = 0;
  std::optional<PersistMark> last;
  // Marks are cumulative: report each, or only the group's last one.
  bool each = rng_() % 2 == 0;
  while (n.raw && !n.writes.empty() && violation_.empty() &&
         (all || n.writes.front().done_at <= now_)) {
    PendingWrite w = std::move(n.writes.front());
    n.writes.pop_front();
    Persist(id, n, w.ready);
    SendAll(id, n, std::move(w.ready.messages_after_persist));
    if (each) n.raw->OnPersisted(w.ready.persist);
    last = w.ready.persist;
    ++done;
  }
  if (last && !each) n.raw->OnPersisted(*last);
  if (done > 1) ++stats_.group_commits;
}

// A leader's commit index, once it moves within its term, lands on an entry
// of that term, which must be durable on a quorum of its voters (counting
// a snapshot that covers it): never on the leader's memory alone.
void SimCluster::CheckDurableCommit(NodeId id) {
  SimNode& n = nodes_.at(id);
  if (!n.raw) return;
  RaftStatus s = n.raw->GetStatus();
  if (s.soft_state.role != Role::kLeader) return;
  std::vector<const LogStorage*> voters;
  for (NodeId v : s.conf.voters) {
    auto it = nodes_.find(v);
    voters.push_back(it == nodes_.end() ? nullptr : it->second.storage.get());
  }
  Fail(checker_.CheckDurableCommit(id, s.hard_state.term, s.hard_state.commit,
                                   voters));
}

void SimCluster::SendAll(NodeId id, SimNode& n, std::vector<Message> msgs) {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (Message& m : msgs) {
    bool dropped = coin(rng_) < options_.drop_rate || (filter_ && filter_(m));
    if (dropped && m.type == MessageType::kSnapshot) {
      failed_snapshots_.emplace_back(id, m.to);
    }
    if (dropped) continue;
    Packet p;
    p.deliver_at = now_ + 1 +
                   (options_.max_delay > 0
                        ? rng_() % static_cast<uint64_t>(options_.max_delay)
                        : 0);
    if (m.type == MessageType::kSnapshot) {
      auto img = n.snapshots.find(m.snapshot.index);
      if (img == n.snapshots.end()) {
        Fail("node " + std::to_string(id) + " sends an unknown snapshot");
        return;
      }
      p.image = img->second;
    }
    p.message = std::move(m);
    network_.push_back(std::move(p));
  }
}

void SimCluster::Apply(NodeId id, SimNode& n, const Entry& e) {
  if (e.index != n.sm.applied + 1) {
    Fail("node " + std::to_string(id) + " applies " + std::to_string(e.index) +
         " after " + std::to_string(n.sm.applied));
    return;
  }
  n.sm.hash = ChainHash(n.sm.hash, e);
  n.sm.applied = e.index;
  Fail(checker_.RecordApplied(id, e, n.sm.hash));
  if (e.type != EntryType::kConfChange) return;
  std::optional<ConfChange> cc = ConfChange::Decode(e.data);
  if (!cc) {
    Fail("undecodable conf change");
    return;
  }
  n.conf = n.raw->ApplyConfChange(*cc);
  ++stats_.conf_changes_applied;
  n.storage->SetConfState(n.conf);
}

void SimCluster::CheckStep() {
  for (const auto& [id, n] : nodes_) {
    if (!n.raw) continue;
    RaftStatus s = n.raw->GetStatus();
    if (s.soft_state.role != Role::kLeader) continue;
    std::string v = checker_.RecordLeader(id, s.hard_state.term);
    stats_.leaders_elected = checker_.leaders();
    Fail(v);
    Fail(checker_.CheckLeaderCompleteness(id, s.hard_state.term, *n.storage));
  }
}

std::string SimCluster::DebugString() const {
  std::string out;
  for (const auto& [id, n] : nodes_) {
    out += "node " + std::to_string(id);
    if (!n.raw) {
      out += " down\n";
      continue;
    }
    RaftStatus s = n.raw->GetStatus();
    out += std::string(" ") + RoleName(s.soft_state.role) + " term " +
           std::to_string(s.hard_state.term) + " lead " +
           std::to_string(s.soft_state.leader) + " commit " +
           std::to_string(s.hard_state.commit) + " applied " +
           std::to_string(n.sm.applied) + " log [" +
           std::to_string(n.storage->FirstIndex()) + "," +
           std::to_string(s.last_index) + "] voters";
    for (NodeId v : s.conf.voters) out += " " + std::to_string(v);
    out += " learners";
    for (NodeId v : s.conf.learners) out += " " + std::to_string(v);
    for (const auto& [pid, pr] : s.progress) {
      out += " | " + std::to_string(pid) + ": m" + std::to_string(pr.match) +
             " n" + std::to_string(pr.next) + " s" +
             std::to_string(static_cast<int>(pr.state)) +
             (pr.recent_active ? " a" : "");
    }
    out += "\n";
  }
  return out;
}

void SimCluster::Fail(std::string what) {
  if (!what.empty() && violation_.empty()) {
    violation_ = "step " + std::to_string(now_) + ": " + what;
  }
}

}  // namespace shardkv::raft::testing
