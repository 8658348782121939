// Asynchronous storage writes (raw_node.h, thesis §3.8 and §10.2.1): what
// must wait for the local disk and what may not.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/raft/memory_log_storage.h"
#include "node/raft/raw_node.h"
#include "node/raft/testing/single_node.h"

namespace shardkv::raft::testing {
namespace {

// One RawNode in async mode whose writer is driven by hand: Drain() hands
// Readys to a queue without persisting them, Persist() completes them.
class AsyncNode {
 public:
  AsyncNode(NodeId id, std::vector<NodeId> voters)
      : id_(id), storage_(ConfState{std::move(voters), {}}) {
    Config config;
    config.id = id;
    config.async_storage_writes = true;
    raw_ = std::make_unique<RawNode>(config, &storage_);
    Drain();  // queues the bootstrap entries' write
  }

  RawNode& raw() { return *raw_; }
  MemoryLogStorage& storage() { return storage_; }
  RaftStatus status() const { return raw_->GetStatus(); }
  const std::vector<Entry>& applied() const { return applied_; }
  size_t queued() const { return queue_.size(); }

  // Handles every pending Ready; returns the messages sent at once.
  std::vector<Message> Drain() {
    std::vector<Message> sent;
    while (raw_->HasReady()) {
      Ready rd = raw_->GetReady();
      for (Message& m : rd.messages) sent.push_back(std::move(m));
      for (const Entry& e : rd.committed_entries) {
        EXPECT_LE(e.index, storage_.LastIndex()) << "applied before durable";
        applied_.push_back(e);
        if (e.type == EntryType::kConfChange) {
          raw_->ApplyConfChange(*ConfChange::Decode(e.data));
        }
      }
      raw_->Advance(rd);
      // A Ready with nothing to write or hold back needs no writer.
      if (rd.snapshot || rd.hard_state || !rd.entries.empty() ||
          !rd.messages_after_persist.empty()) {
        queue_.push_back(std::move(rd));
      }
    }
    return sent;
  }

  // Completes the first `count` queued writes in order, reporting each
  // mark (or only the last: marks are cumulative); returns the messages
  // released, then drains.
  std::vector<Message> Persist(size_t count = SIZE_MAX,
                               bool only_last_mark = false) {
    std::vector<Message> sent;
    std::optional<PersistMark> last;
    for (; count > 0 && !queue_.empty(); --count) {
      Ready rd = std::move(queue_.front());
      queue_.pop_front();
      if (rd.snapshot) {
        EXPECT_TRUE(storage_.ApplySnapshot(*rd.snapshot).ok());
      }
      EXPECT_TRUE(storage_.Append(rd.entries).ok());
      if (rd.hard_state) storage_.SetHardState(*rd.hard_state);
      for (Message& m : rd.messages_after_persist) sent.push_back(m);
      if (!only_last_mark) raw_->OnPersisted(rd.persist);
      last = rd.persist;
    }
    if (only_last_mark && last) raw_->OnPersisted(*last);
    std::vector<Message> more = Drain();
    sent.insert(sent.end(), more.begin(), more.end());
    return sent;
  }

  std::vector<Message> Deliver(Message m) {
    if (m.to == kNoNode) m.to = id_;
    EXPECT_TRUE(raw_->Step(m).ok());
    return Drain();
  }

  // Elects this node (all writes completed) with grants from `voters`.
  void Elect(const std::vector<NodeId>& voters) {
    Persist();
    raw_->Campaign();
    std::vector<Message> out = Drain();
    for (MessageType type : {MessageType::kPreVote, MessageType::kVote}) {
      for (const Message& req : OfType(out, type)) {
        bool voter = false;
        for (NodeId v : voters) voter |= v == req.to;
        if (!voter) continue;
        Message resp;
        resp.type = type == MessageType::kPreVote
                        ? MessageType::kPreVoteResponse
                        : MessageType::kVoteResponse;
        resp.from = req.to;
        resp.term = req.term;
        std::vector<Message> more = Deliver(resp);
        out.insert(out.end(), more.begin(), more.end());
      }
    }
    Persist();
  }

 private:
  NodeId id_;
  MemoryLogStorage storage_;
  std::unique_ptr<RawNode> raw_;
  std::deque<Ready> queue_;
  std::vector<Entry> applied_;
};

Message AckFrom(NodeId from, Term term, Index index) {
  Message m;
  m.type = MessageType::kAppendResponse;
  m.from = from;
  m.term = term;
  m.index = index;
  return m;
}

Index LastApplied(const AsyncNode& n) {
  return n.applied().empty() ? 0 : n.applied().back().index;
}

// §10.2.1: the leader sends its entries before they are on its disk, but
// counts itself in a quorum only for what is.
TEST(AsyncStorageTest, LeaderCountsItselfOnlyOnceDurable) {
  AsyncNode n(1, {1, 2, 3});
  n.Elect({2, 3});
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  // Followers acknowledge the no-op: it commits.
  Term term = n.status().hard_state.term;
  Index noop = n.status().last_index;
  n.Deliver(AckFrom(2, term, noop));
  n.Deliver(AckFrom(3, term, noop));
  n.Persist();
  ASSERT_EQ(n.status().hard_state.commit, noop);
  n.Persist();  // the new commit index

  ASSERT_TRUE(n.raw().Propose({"x"}).ok());
  std::vector<Message> out = n.Drain();
  // The appends leave at once, in parallel with the leader's write.
  EXPECT_EQ(OfType(out, MessageType::kAppend).size(), 2u);
  EXPECT_EQ(n.queued(), 1u);
  // Its unpersisted self alone is not a quorum of 3...
  EXPECT_EQ(n.status().hard_state.commit, noop);
  // ...and neither is its unpersisted self plus one follower: only the
  // follower has the entry on disk.
  n.Deliver(AckFrom(2, term, noop + 1));
  EXPECT_EQ(n.status().hard_state.commit, noop);
  EXPECT_EQ(LastApplied(n), noop);
  // Durable here too: now a quorum has it.
  n.Persist();
  EXPECT_EQ(n.status().hard_state.commit, noop + 1);
  EXPECT_EQ(LastApplied(n), noop + 1);
}

TEST(AsyncStorageTest, FollowerAcknowledgesOnlyAfterPersist) {
  AsyncNode n(1, {1, 2, 3});
  n.Persist();  // the bootstrap entries 1..3
  std::vector<Message> out =
      n.Deliver(AppendMsg(2, 2, 3, 1, {MakeEntry(4, 2), MakeEntry(5, 2)}, 5));
  EXPECT_TRUE(OfType(out, MessageType::kAppendResponse).empty());
  // Committed by the leader, but not durable here: not applied.
  EXPECT_EQ(n.status().hard_state.commit, 5u);
  EXPECT_EQ(LastApplied(n), 3u);
  out = n.Persist();
  std::vector<Message> acks = OfType(out, MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].index, 5u);
  EXPECT_FALSE(acks[0].reject);
  EXPECT_EQ(LastApplied(n), 5u);
}

// §3.8: a vote must be durable before it is cast.
TEST(AsyncStorageTest, VoteIsSentOnlyAfterPersist) {
  AsyncNode n(1, {1, 2, 3});
  n.Persist();
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.term = 5;
  vote.index = 3;
  vote.log_term = 1;
  std::vector<Message> out = n.Deliver(vote);
  EXPECT_TRUE(OfType(out, MessageType::kVoteResponse).empty());
  out = n.Persist();
  std::vector<Message> votes = OfType(out, MessageType::kVoteResponse);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_FALSE(votes[0].reject);
  EXPECT_EQ(n.storage().InitialHardState().vote, 2u);
}

// A candidate that won with others' votes waits for its own term and vote
// to be durable: forgotten in a crash, it could win the same term again
// and write different entries at the same (index, term).
TEST(AsyncStorageTest, CandidateLeadsOnlyOnceItsVoteIsDurable) {
  AsyncNode n(1, {1, 2, 3});
  n.Persist();
  n.raw().Campaign();
  std::vector<Message> out = n.Drain();
  for (const Message& req : OfType(out, MessageType::kPreVote)) {
    Message resp;
    resp.type = MessageType::kPreVoteResponse;
    resp.from = req.to;
    resp.term = req.term;
    std::vector<Message> more = n.Deliver(resp);
    out.insert(out.end(), more.begin(), more.end());
  }
  std::vector<Message> requests = OfType(out, MessageType::kVote);
  ASSERT_EQ(requests.size(), 2u);  // sent before the vote is durable
  for (const Message& req : requests) {
    Message resp;
    resp.type = MessageType::kVoteResponse;
    resp.from = req.to;
    resp.term = req.term;
    out = n.Deliver(resp);
    EXPECT_TRUE(OfType(out, MessageType::kAppend).empty());
  }
  EXPECT_EQ(n.status().soft_state.role, Role::kCandidate);
  out = n.Persist();
  EXPECT_EQ(n.status().soft_state.role, Role::kLeader);
  EXPECT_EQ(OfType(out, MessageType::kAppend).size(), 2u);
}

TEST(AsyncStorageTest, SingleNodeCommitsOnlyAfterPersist) {
  AsyncNode n(1, {1});
  n.Persist();
  n.raw().Campaign();
  n.Drain();
  EXPECT_NE(n.status().soft_state.role, Role::kLeader);
  n.Persist();
  ASSERT_EQ(n.status().soft_state.role, Role::kLeader);
  Index noop = n.status().last_index;
  EXPECT_LT(n.status().hard_state.commit, noop);
  n.Persist();
  EXPECT_EQ(n.status().hard_state.commit, noop);
  n.Persist();  // the new commit index

  ASSERT_TRUE(n.raw().Propose({"a"}).ok());
  n.Drain();
  ASSERT_TRUE(n.raw().Propose({"b"}).ok());
  n.Drain();
  EXPECT_EQ(n.queued(), 2u);  // two Readys in flight to the writer
  EXPECT_EQ(n.status().hard_state.commit, noop);
  EXPECT_EQ(LastApplied(n), noop);
  // One group commit for both, reported with the last mark only.
  n.Persist(SIZE_MAX, /*only_last_mark=*/true);
  EXPECT_EQ(n.status().hard_state.commit, noop + 2);
  ASSERT_EQ(LastApplied(n), noop + 2);
  EXPECT_EQ(n.applied().back().data, "b");
}

// A new leader replaces entries still being written: the old write's
// completion must not mark the new entry at the same index durable.
TEST(AsyncStorageTest, TruncationBetweenHandOutAndPersist) {
  AsyncNode n(1, {1, 2, 3});
  n.Persist();
  n.Deliver(
      AppendMsg(2, 2, 3, 1, {MakeEntry(4, 2), MakeEntry(5, 2, "old")}, 3));
  ASSERT_EQ(n.queued(), 1u);
  // Leader 3 of term 3 overwrites index 5 and commits it.
  n.Deliver(AppendMsg(3, 3, 4, 2, {MakeEntry(5, 3, "new")}, 5));
  ASSERT_EQ(n.queued(), 2u);
  EXPECT_EQ(n.status().hard_state.commit, 5u);
  // The first write, ending at (5, term 2), completes.
  std::vector<Message> out = n.Persist(1);
  EXPECT_EQ(LastApplied(n), 3u) << "(5, 3) is not on disk yet";
  std::vector<Message> acks = OfType(out, MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 1u);  // the ack to leader 2, vouching for (5, 2)
  EXPECT_EQ(acks[0].to, 2u);
  out = n.Persist();
  acks = OfType(out, MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].to, 3u);
  EXPECT_EQ(acks[0].index, 5u);
  ASSERT_EQ(LastApplied(n), 5u);
  EXPECT_EQ(n.applied().back().data, "new");
  EXPECT_EQ(*n.storage().TermAt(5), 3u);
}

// A restarted replica may have applied past its persisted commit index (it
// applies durable committed entries before the hard state recording the
// commit is written): it must not hand them out again.
TEST(AsyncStorageTest, RestartAfterApplyingPastPersistedCommit) {
  auto storage = std::make_unique<MemoryLogStorage>(ConfState{{1, 2, 3}, {}});
  ASSERT_TRUE(storage
                  ->Append({Entry{1, 1, EntryType::kNormal, "a"},
                            Entry{1, 2, EntryType::kNormal, "b"},
                            Entry{1, 3, EntryType::kNormal, "c"}})
                  .ok());
  storage->SetHardState(HardState{1, kNoNode, 1});
  Config config;
  config.async_storage_writes = true;
  config.applied = 2;
  SingleNode n(1, std::move(storage), config);
  EXPECT_EQ(n.status().applied, 2u);
  EXPECT_EQ(n.status().hard_state.commit, 2u);
  EXPECT_TRUE(n.applied().empty());  // nothing handed out again
}

}  // namespace
}  // namespace shardkv::raft::testing
