// SimCluster: a deterministic simulation of a Raft group for tests.
//
// Each node is a RawNode over a MemoryLogStorage that survives crashes (the
// "disk"), plus a persisted toy state machine (a hash chain of applied
// entries). Time advances in steps; a node ticks every `tick_every` steps.
// The network delays (0..max_delay steps, hence reorders), drops (with
// probability drop_rate) and partitions messages. A seeded PRNG drives
// every random choice, so a seed reproduces a run exactly.
//
// Ready handling follows raw_node.h: persist (snapshot, entries, hard
// state) -> send -> apply -> Advance. A crash discards the RawNode, the
// messages it has not yet sent and the snapshots it received but has not
// installed; Restart builds a new RawNode from the persisted storage.
//
// With SimOptions::async_writes, each node runs RawNode in async storage
// mode: a Ready's write goes to a per-node writer queue and completes, in
// order, 0..max_persist_delay steps later (several completions at once are
// one group commit); only then does the storage change, the Ready's
// messages_after_persist leave and OnPersisted is called. A crash loses
// the queued writes and their held-back messages. A Ready with a snapshot
// is, at random, either queued like any other or handled synchronously
// (queue drained first), the two caller strategies raw_node.h allows.
//
// Every step runs the InvariantChecker; the first violation is kept in
// violation() (and the run should stop).
//
// Thread-safety: not thread-safe; test-only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "node/raft/memory_log_storage.h"
#include "node/raft/raw_node.h"
#include "node/raft/testing/invariant_checker.h"

namespace shardkv::raft::testing {

struct SimOptions {
  int voters = 3;
  uint64_t seed = 1;
  double drop_rate = 0.0;
  int max_delay = 0;   // steps; 0 = delivered at the next step
  int tick_every = 1;  // steps per tick
  Config raft;         // template: id and seed are filled per node
  // Async storage writes (overrides raft.async_storage_writes).
  bool async_writes = false;
  int max_persist_delay = 3;  // steps
};

// The persisted toy state machine; also what a snapshot carries.
struct SmImage {
  Index applied = 0;
  uint64_t hash = 0;
};

class SimCluster {
 public:
  explicit SimCluster(const SimOptions& options);

  // One unit of time: deliver due messages, tick, handle Readies, check.
  void Step();
  void Run(int steps);
  // Runs until no message is in flight and no node has a Ready, without
  // ticking (for scripted tests). Returns false if it did not settle.
  bool Settle(int max_rounds = 1000);
  // Runs until `pred` holds (checked after each step) or `max_steps` pass.
  bool RunUntil(const std::function<bool()>& pred, int max_steps);

  // Nodes.
  RawNode* node(NodeId id);  // nullptr when crashed or unknown
  std::vector<NodeId> ids() const;
  bool alive(NodeId id) const;
  void Crash(NodeId id);
  void Restart(NodeId id);
  // A fresh replica with an empty log and conf (joins as a learner).
  void AddNode(NodeId id);
  void Tick(NodeId id);
  // The live leader with the highest term, or kNoNode.
  NodeId Leader() const;
  SmImage image(NodeId id) const;
  const MemoryLogStorage& storage(NodeId id) const;
  // Compacts `id`'s log up to its applied index.
  void Compact(NodeId id);

  // Network.
  void Isolate(NodeId id);
  void Partition(const std::set<NodeId>& side);  // side vs everyone else
  void Heal();
  bool Reachable(NodeId from, NodeId to) const;
  void set_drop_rate(double rate) { options_.drop_rate = rate; }
  void set_max_delay(int steps) { options_.max_delay = steps; }
  // Probability that a node crashes in the middle of handling a Ready:
  // after persisting it, before sending, applying or advancing.
  void set_crash_in_ready_rate(double rate) { crash_in_ready_rate_ = rate; }
  // Messages for which `filter` returns true are dropped.
  void set_filter(std::function<bool(const Message&)> filter) {
    filter_ = std::move(filter);
  }
  size_t in_flight() const { return network_.size(); }
  // Async mode: Readys handed to `id`'s writer and not yet durable.
  size_t pending_writes(NodeId id) const { return nodes_.at(id).writes.size(); }

  // Client work, with bookkeeping for the checker.
  StatusOr<std::vector<LogPosition>> Propose(NodeId id, std::string data);
  Status ReadIndex(NodeId id, const std::string& context);
  const std::vector<ReadState>& read_states(NodeId id) {
    return nodes_[id].read_states;
  }
  // Whether the entry proposed at `pos` was applied with that term.
  bool Committed(const LogPosition& pos) const;

  // One line per node: role, term, commit, applied, log bounds, conf.
  std::string DebugString() const;
  const std::string& violation() const { return violation_; }
  InvariantChecker& checker() { return checker_; }
  std::mt19937_64& rng() { return rng_; }
  uint64_t now() const { return now_; }
  // What the run exercised, for asserting coverage.
  struct Stats {
    uint64_t snapshots_installed = 0;
    uint64_t conf_changes_applied = 0;
    uint64_t leaders_elected = 0;
    uint64_t crashes_in_ready = 0;
    uint64_t writes_lost_in_crashes = 0;
    uint64_t group_commits = 0;  // completions covering several Readys
  };
  const Stats& stats() const { return stats_; }

 private:
  // Async mode: one Ready's write, queued at the node's writer.
  struct PendingWrite {
    Ready ready;  // only the persisted parts and messages_after_persist
    uint64_t done_at = 0;
  };
  struct SimNode {
    std::unique_ptr<MemoryLogStorage> storage;
    std::unique_ptr<RawNode> raw;
    SmImage sm;
    ConfState conf;
    std::map<Index, SmImage> snapshots;           // persisted images
    std::map<Index, SmImage> received_snapshots;  // volatile
    std::vector<ReadState> read_states;
    std::deque<PendingWrite> writes;  // async mode, in Ready order
    int tick_phase = 0;
  };
  struct Packet {
    Message message;
    uint64_t deliver_at = 0;
    std::optional<SmImage> image;  // kSnapshot payload
  };

  Config ConfigFor(NodeId id) const;
  void Deliver(const Packet& p);
  void HandleReady(NodeId id);
  void Persist(NodeId id, SimNode& n, const Ready& rd);
  // Async mode: queues rd's write (or, for some snapshots, drains the
  // queue and writes it now).
  void QueueWrite(NodeId id, SimNode& n, Ready& rd);
  // Async mode: completes the queued writes due by now (all: every one).
  void CompleteWrites(NodeId id, bool all);
  void CheckDurableCommit(NodeId id);
  void SendAll(NodeId id, SimNode& n, std::vector<Message> messages);
  void Apply(NodeId id, SimNode& n, const Entry& e);
  void CheckStep();
  void Fail(std::string what);

  SimOptions options_;
  std::mt19937_64 rng_;
  uint64_t now_ = 0;
  std::map<NodeId, SimNode> nodes_;
  std::vector<Packet> network_;
  std::map<NodeId, int> partition_side_;
  std::function<bool(const Message&)> filter_;
  InvariantChecker checker_;
  std::string violation_;
  std::vector<std::pair<NodeId, NodeId>> failed_snapshots_;  // from, to
  double crash_in_ready_rate_ = 0.0;
  Stats stats_;
  bool trace_;  // SHARDKV_SIM_TRACE set: print every delivery and step
};

}  // namespace shardkv::raft::testing
