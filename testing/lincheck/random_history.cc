#include "testing/lincheck/random_history.h"

#include <map>
#include <random>

namespace shardkv::lincheck {
namespace {

struct StoredValue {
  std::string value;
  uint64_t version = 0;
};

class Generator {
 public:
  explicit Generator(const RandomHistoryOptions& o) : o_(o), rng_(o.seed) {}

  std::vector<Operation> Run() {
    std::vector<Operation> ops;
    for (int i = 0; i < o_.num_ops; ++i) {
      const int64_t point = 1000 + 10 * static_cast<int64_t>(i);
      Operation op;
      op.id = i;
      op.client = Uniform(0, o_.num_clients - 1);
      op.input.key = "k" + std::to_string(Uniform(0, o_.num_keys - 1));
      op.call_ns = point - Uniform(0, o_.max_spread_ns);
      op.return_ns = point + Uniform(0, o_.max_spread_ns);
      Apply(&op, i);
      ops.push_back(std::move(op));
    }
    return ops;
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  void Apply(Operation* op, int index) {
    std::optional<StoredValue>& cur = store_[op->input.key];
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < o_.get_fraction) {
      op->input.kind = OpKind::kGet;
      if (cur) {
        op->output = Chance(0.5) ? GetFoundVersion(cur->value, cur->version)
                                 : GetFound(cur->value);
      } else {
        op->output = GetNotFound();
      }
      return;
    }
    const bool conditional = Chance(o_.conditional_fraction);
    op->input.kind = r < o_.get_fraction + o_.delete_fraction ? OpKind::kDelete
                                                              : OpKind::kSet;
    if (conditional) ChooseCondition(op, cur);
    const bool applies = Holds(op->input, cur);
    const bool unknown = Chance(o_.unknown_write_fraction);
    // An unknown write took effect or not; the history can't tell.
    const bool takes_effect = applies && (!unknown || Chance(0.5));
    if (op->input.kind == OpKind::kSet) {
      op->input.value = "v" + std::to_string(index);
      const uint64_t version = cur ? cur->version + 1 : 1;
      op->output = applies ? SetOk(version) : ConditionFailed();
      if (takes_effect) cur = StoredValue{op->input.value, version};
    } else {
      op->output = applies ? DeleteOk(cur.has_value()) : ConditionFailed();
      if (takes_effect) cur.reset();
    }
    if (unknown) {
      op->output = UnknownOutcome();
      op->return_ns = kNeverReturned;
    }
  }

  void ChooseCondition(Operation* op, const std::optional<StoredValue>& cur) {
    if (op->input.kind == OpKind::kSet && Chance(0.4)) {
      op->input.condition = Condition::kIfAbsent;
      return;
    }
    op->input.condition = Condition::kIfVersion;
    // Mostly the right version, so that CAS succeeds often.
    const uint64_t right = cur ? cur->version : 1;
    op->input.expected_version = Chance(0.7) ? right : right + Uniform(1, 2);
  }

  static bool Holds(const OpInput& in, const std::optional<StoredValue>& cur) {
    switch (in.condition) {
      case Condition::kNone:
        return true;
      case Condition::kIfAbsent:
        return !cur.has_value();
      case Condition::kIfVersion:
        return cur.has_value() && cur->version == in.expected_version;
    }
    return false;
  }

  RandomHistoryOptions o_;
  std::mt19937_64 rng_;
  std::map<std::string, std::optional<StoredValue>> store_;
};

}  // namespace

std::vector<Operation> GenerateLinearizableHistory(
    const RandomHistoryOptions& options) {
  return Generator(options).Run();
}

std::optional<std::string> MutateHistory(std::vector<Operation>* ops,
                                         Mutation mutation, uint64_t seed) {
  std::map<std::string, const Operation*> writer_of;  // value -> its Set
  for (const Operation& op : *ops) {
    if (op.input.kind == OpKind::kSet) writer_of[op.input.value] = &op;
  }
  std::vector<Operation*> candidates;
  for (Operation& op : *ops) {
    if (op.input.kind != OpKind::kGet || !op.output.found ||
        op.output.outcome != Outcome::kOk) {
      continue;
    }
    if (mutation == Mutation::kReadWrongVersion) {
      // Only reads whose value's writer reported its version: an unknown
      // writer's resulting version depends on where it linearizes.
      auto w = writer_of.find(op.output.value);
      if (!op.output.version_known || w == writer_of.end() ||
          w->second->output.outcome != Outcome::kOk) {
        continue;
      }
    }
    candidates.push_back(&op);
  }
  if (candidates.empty()) return std::nullopt;
  std::mt19937_64 rng(seed);
  Operation* victim = candidates[std::uniform_int_distribution<size_t>(
      0, candidates.size() - 1)(rng)];
  switch (mutation) {
    case Mutation::kReadNeverWrittenValue:
      victim->output.value = "never-written";
      break;
    case Mutation::kReadWrongVersion:
      // The value was written once, so any state holding it has exactly
      // the version that write produced.
      victim->output.version += 1;
      break;
    case Mutation::kReadBeforeWrite: {
      const Operation* writer = writer_of[victim->output.value];
      victim->call_ns = writer->call_ns - 2;
      victim->return_ns = writer->call_ns - 1;
      break;
    }
  }
  return DescribeOp(*victim);
}

}  // namespace shardkv::lincheck
