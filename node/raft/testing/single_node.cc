#include "node/raft/testing/single_node.h"

#include <utility>

namespace shardkv::raft::testing {

SingleNode::SingleNode(NodeId id, std::vector<NodeId> voters, Config config)
    : SingleNode(
          id,
          std::make_unique<MemoryLogStorage>(ConfState{std::move(voters), {}}),
          config) {}

SingleNode::SingleNode(NodeId id, std::unique_ptr<MemoryLogStorage> storage,
                       Config config)
    : id_(id), storage_(std::move(storage)) {
  config.id = id;
  raw_ = std::make_unique<RawNode>(config, storage_.get());
  Drain();
}

std::vector<Message> SingleNode::Drain() {
  std::vector<Message> sent;
  while (raw_->HasReady()) {
    Ready rd = raw_->GetReady();
    if (rd.snapshot) {
      (void)storage_->ApplySnapshot(*rd.snapshot);
      last_snapshot_ = rd.snapshot;
    }
    (void)storage_->Append(rd.entries);
    if (rd.hard_state) storage_->SetHardState(*rd.hard_state);
    for (Message& m : rd.messages) sent.push_back(std::move(m));
    for (const Entry& e : rd.committed_entries) {
      applied_.push_back(e);
      if (e.type == EntryType::kConfChange) {
        storage_->SetConfState(
            raw_->ApplyConfChange(*ConfChange::Decode(e.data)));
      }
    }
    for (const ReadState& rs : rd.read_states) read_states_.push_back(rs);
    raw_->Advance(rd);
  }
  return sent;
}

std::vector<Message> SingleNode::Deliver(Message m) {
  if (m.to == kNoNode) m.to = id_;
  (void)raw_->Step(m);
  return Drain();
}

void SingleNode::Elect(const std::vector<NodeId>& voters) {
  raw_->Campaign();
  std::vector<Message> out = Drain();
  for (MessageType type : {MessageType::kPreVote, MessageType::kVote}) {
    for (const Message& req : OfType(out, type)) {
      Message resp;
      resp.type = type == MessageType::kPreVote ? MessageType::kPreVoteResponse
                                                : MessageType::kVoteResponse;
      resp.from = req.to;
      resp.term = req.term;
      bool voter = false;
      for (NodeId v : voters) voter |= v == req.to;
      if (!voter) continue;
      std::vector<Message> more = Deliver(resp);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
}

Message AppendMsg(NodeId from, Term term, Index prev_index, Term prev_term,
                  std::vector<Entry> entries, Index commit) {
  Message m;
  m.type = MessageType::kAppend;
  m.from = from;
  m.term = term;
  m.index = prev_index;
  m.log_term = prev_term;
  m.entries = std::move(entries);
  m.commit = commit;
  return m;
}

Entry MakeEntry(Index index, Term term, std::string data) {
  return Entry{term, index, EntryType::kNormal, std::move(data)};
}

std::vector<Message> OfType(const std::vector<Message>& msgs,
                            MessageType type) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.type == type) out.push_back(m);
  }
  return out;
}

}  // namespace shardkv::raft::testing
