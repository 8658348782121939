#include "testing/lincheck/checker.h"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>

#include "testing/lincheck/register_model.h"

namespace shardkv::lincheck {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kViolation:
      return "VIOLATION";
    case Verdict::kTimeout:
      return "TIMEOUT";
    case Verdict::kSkipped:
      return "skipped";
  }
  return "?";
}

namespace {

// One call or return event in a doubly linked list sorted by time; lifting
// an operation unlinks both of its events (Lowe's "just-in-time" search).
struct Event {
  int64_t time = 0;
  bool is_call = false;
  int op = -1;     // index into the key's op vector
  int match = -1;  // call: index of its return event
  int prev = -1;
  int next = -1;
};

class EventList {
 public:
  explicit EventList(const std::vector<Operation>& ops) {
    std::vector<Event> sorted;
    for (size_t i = 0; i < ops.size(); ++i) {
      sorted.push_back({ops[i].call_ns, true, static_cast<int>(i)});
      sorted.push_back({ops[i].return_ns, false, static_cast<int>(i)});
    }
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Event& a, const Event& b) {
                       if (a.time != b.time) return a.time < b.time;
                       return a.is_call && !b.is_call;
                     });
    events_.resize(sorted.size() + 1);  // events_[0] is the head sentinel
    std::vector<int> return_of(ops.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      events_[i + 1] = sorted[i];
      if (!sorted[i].is_call) return_of[sorted[i].op] = i + 1;
    }
    for (size_t i = 0; i < events_.size(); ++i) {
      events_[i].prev = static_cast<int>(i) - 1;
      events_[i].next = i + 1 < events_.size() ? static_cast<int>(i) + 1 : -1;
      if (events_[i].is_call) events_[i].match = return_of[events_[i].op];
    }
  }

  const Event& at(int i) const { return events_[i]; }
  int first() const { return events_[0].next; }

  void Lift(int call) {
    Unlink(call);
    Unlink(events_[call].match);
  }
  // REQUIRES: undo in reverse order of Lift().
  void Unlift(int call) {
    Relink(events_[call].match);
    Relink(call);
  }

 private:
  void Unlink(int i) {
    Event& e = events_[i];
    events_[e.prev].next = e.next;
    if (e.next >= 0) events_[e.next].prev = e.prev;
  }
  void Relink(int i) {
    Event& e = events_[i];
    events_[e.prev].next = i;
    if (e.next >= 0) events_[e.next].prev = i;
  }

  std::vector<Event> events_;
};

struct CacheEntry {
  std::vector<uint64_t> linearized;
  RegisterState state;
  bool operator==(const CacheEntry&) const = default;
};

struct CacheEntryHash {
  size_t operator()(const CacheEntry& e) const {
    size_t h = std::hash<uint64_t>()(e.state.version) * 31 + e.state.value;
    h = h * 2 + e.state.present;
    for (uint64_t word : e.linearized) {
      h ^= std::hash<uint64_t>()(word) + 0x9e3779b97f4a7c15ULL + (h << 6) +
           (h >> 2);
    }
    return h;
  }
};

struct Frame {
  int call_event;
  RegisterState before;
};

class KeySearch {
 public:
  KeySearch(const std::vector<Operation>& ops, Deadline deadline)
      : ops_(ops), events_(ops), deadline_(deadline) {
    for (const Operation& op : ops_) {
      if (op.input.kind == OpKind::kSet) values_.Intern(op.input.value);
    }
    for (const Operation& op : ops_) {
      model_ops_.push_back(ToModelOp(op, values_));
    }
  }

  Verdict Run() {
    RegisterState state;
    CacheEntry current{std::vector<uint64_t>((ops_.size() + 63) / 64), {}};
    int entry = events_.first();
    for (uint64_t steps = 0; events_.first() >= 0; ++steps) {
      if ((steps & 1023) == 0 && std::chrono::steady_clock::now() > deadline_) {
        return Verdict::kTimeout;
      }
      const Event& e = events_.at(entry);
      if (e.is_call) {
        RegisterState next;
        if (StepRegister(state, model_ops_[e.op], &next)) {
          current.linearized[e.op / 64] |= 1ULL << (e.op % 64);
          current.state = next;
          if (cache_.insert(current).second) {
            stack_.push_back({entry, state});
            state = next;
            events_.Lift(entry);
            RememberIfLongest(state);
            entry = events_.first();
            continue;
          }
          current.linearized[e.op / 64] &= ~(1ULL << (e.op % 64));
        }
        entry = e.next;
        continue;
      }
      // A return event: its op was not linearized before it returned.
      if (e.time == kNeverReturned) return Verdict::kLinearizable;
      if (stack_.empty()) return Verdict::kViolation;
      Frame top = stack_.back();
      stack_.pop_back();
      const int op = events_.at(top.call_event).op;
      current.linearized[op / 64] &= ~(1ULL << (op % 64));
      state = top.before;
      events_.Unlift(top.call_event);
      entry = events_.at(top.call_event).next;
    }
    return Verdict::kLinearizable;
  }

  std::string Explain() const {
    std::string s =
        "longest linearizable prefix: " + std::to_string(longest_.size()) +
        " of " + std::to_string(ops_.size()) + " ops";
    constexpr size_t kShown = 12;
    size_t begin = longest_.size() > kShown ? longest_.size() - kShown : 0;
    if (begin > 0) s += " (last " + std::to_string(kShown) + " shown)";
    s += "\n";
    for (size_t i = begin; i < longest_.size(); ++i) {
      s += "    " + DescribeOp(ops_[longest_[i].first]) + "  => " +
           Describe(longest_[i].second) + "\n";
    }
    s += "  from state " + Describe(longest_state_) +
         ", none of these could be linearized next "
         "(each must precede the first return):\n";
    for (int op : StuckOps()) s += "    " + DescribeOp(ops_[op]) + "\n";
    return s;
  }

 private:
  void RememberIfLongest(const RegisterState& state) {
    if (stack_.size() <= longest_.size()) return;
    longest_.clear();
    RegisterState after = state;
    for (size_t i = stack_.size(); i-- > 0;) {
      longest_.push_back({events_.at(stack_[i].call_event).op, after});
      after = stack_[i].before;
    }
    std::reverse(longest_.begin(), longest_.end());
    longest_state_ = state;
    linearized_at_longest_.assign(ops_.size(), false);
    for (const auto& [op, unused] : longest_) linearized_at_longest_[op] = true;
  }

  // Ops not in the longest prefix whose call precedes the earliest return
  // among them: the candidates that all failed to linearize.
  std::vector<int> StuckOps() const {
    int64_t first_return = kNeverReturned;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!linearized_at_longest_.empty() && linearized_at_longest_[i]) {
        continue;
      }
      first_return = std::min(first_return, ops_[i].return_ns);
    }
    std::vector<int> stuck;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!linearized_at_longest_.empty() && linearized_at_longest_[i]) {
        continue;
      }
      if (ops_[i].call_ns <= first_return) stuck.push_back(i);
    }
    return stuck;
  }

  std::string Describe(const RegisterState& state) const {
    if (!state.present) return "absent";
    for (const Operation& op : ops_) {
      if (op.input.kind == OpKind::kSet &&
          values_.Lookup(op.input.value) == state.value) {
        return PrintableBytes(op.input.value) + " v" +
               std::to_string(state.version);
      }
    }
    return DescribeState(state);
  }

  const std::vector<Operation>& ops_;
  EventList events_;
  Deadline deadline_;
  ValueInterner values_;
  std::vector<ModelOp> model_ops_;
  std::unordered_set<CacheEntry, CacheEntryHash> cache_;
  std::vector<Frame> stack_;
  std::vector<std::pair<int, RegisterState>> longest_;
  RegisterState longest_state_;
  std::vector<bool> linearized_at_longest_;
};

}  // namespace

KeyResult CheckKey(const std::vector<Operation>& all_ops, Deadline deadline) {
  KeyResult result;
  if (!all_ops.empty()) result.key = all_ops.front().input.key;
  std::vector<Operation> ops;
  for (const Operation& op : all_ops) {
    if (op.input.kind == OpKind::kSet && op.input.has_ttl) {
      result.verdict = Verdict::kSkipped;
      result.op_count = all_ops.size();
      result.explanation = "key has a TTL write (" + DescribeOp(op) +
                           "); TTL keys are not checked";
      return result;
    }
    // A read with an unknown outcome has no effect and constrains nothing.
    if (op.input.kind == OpKind::kGet &&
        op.output.outcome == Outcome::kUnknown) {
      continue;
    }
    ops.push_back(op);
  }
  result.op_count = ops.size();
  KeySearch search(ops, deadline);
  result.verdict = search.Run();
  if (result.verdict == Verdict::kViolation) {
    result.explanation = search.Explain();
  } else if (result.verdict == Verdict::kTimeout) {
    result.explanation = "search budget exceeded after exploring part of " +
                         std::to_string(ops.size()) + " ops";
  }
  return result;
}

CheckResult Check(const std::vector<Operation>& ops, Deadline deadline) {
  std::map<std::string, std::vector<Operation>> by_key;
  for (const Operation& op : ops) by_key[op.input.key].push_back(op);
  CheckResult result;
  for (auto& [key, key_ops] : by_key) {
    KeyResult r = CheckKey(key_ops, deadline);
    r.key = key;
    if (r.verdict == Verdict::kViolation) ++result.violations;
    if (r.verdict == Verdict::kTimeout) ++result.timeouts;
    if (r.verdict == Verdict::kSkipped) ++result.skipped;
    result.keys.push_back(std::move(r));
  }
  if (result.violations > 0) {
    result.verdict = Verdict::kViolation;
  } else if (result.timeouts > 0) {
    result.verdict = Verdict::kTimeout;
  }
  return result;
}

CheckResult Check(const History& history, Deadline deadline) {
  return Check(history.Operations(), deadline);
}

std::string CheckResult::Summary() const {
  std::string s = std::string(VerdictName(verdict)) + ": " +
                  std::to_string(keys.size()) + " keys, " +
                  std::to_string(violations) + " violations, " +
                  std::to_string(timeouts) + " timeouts, " +
                  std::to_string(skipped) + " skipped\n";
  for (const KeyResult& k : keys) {
    if (k.verdict != Verdict::kViolation && k.verdict != Verdict::kTimeout) {
      continue;
    }
    s += "key " + PrintableBytes(k.key) + ": " + VerdictName(k.verdict) + " (" +
         std::to_string(k.op_count) + " ops)\n  " + k.explanation + "\n";
  }
  return s;
}

}  // namespace shardkv::lincheck
