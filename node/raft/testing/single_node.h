// SingleNode: one RawNode over a MemoryLogStorage, driven by hand with
// crafted messages (message-level scripted tests). Drain() handles Readies
// like a server would: persist, collect messages, apply, Advance.
//
// Thread-safety: not thread-safe; test-only.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "node/raft/memory_log_storage.h"
#include "node/raft/raw_node.h"

namespace shardkv::raft::testing {

class SingleNode {
 public:
  // A replica `id` of a new group with `voters` (bootstrapped).
  SingleNode(NodeId id, std::vector<NodeId> voters, Config config = {});
  // A replica restarted from `storage` (taken over).
  SingleNode(NodeId id, std::unique_ptr<MemoryLogStorage> storage,
             Config config = {});

  RawNode& raw() { return *raw_; }
  MemoryLogStorage& storage() { return *storage_; }
  // Handles every pending Ready; returns the messages sent.
  std::vector<Message> Drain();
  // Steps `m` (defaults: to = this node) and drains.
  std::vector<Message> Deliver(Message m);
  RaftStatus status() const { return raw_->GetStatus(); }
  // Makes this node leader of `term`-1+1 with votes from `voters`.
  void Elect(const std::vector<NodeId>& voters);
  // The last snapshot and committed entries handed out by Drain().
  const std::optional<SnapshotMeta>& last_snapshot() const {
    return last_snapshot_;
  }
  const std::vector<Entry>& applied() const { return applied_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }

 private:
  NodeId id_;
  std::unique_ptr<MemoryLogStorage> storage_;
  std::unique_ptr<RawNode> raw_;
  std::optional<SnapshotMeta> last_snapshot_;
  std::vector<Entry> applied_;
  std::vector<ReadState> read_states_;
};

// Message builders.
Message AppendMsg(NodeId from, Term term, Index prev_index, Term prev_term,
                  std::vector<Entry> entries, Index commit);
Entry MakeEntry(Index index, Term term, std::string data = "x");
std::vector<Message> OfType(const std::vector<Message>& msgs, MessageType type);

}  // namespace shardkv::raft::testing
