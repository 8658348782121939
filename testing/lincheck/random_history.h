// Test helper: random histories that are linearizable by construction, and
// mutations of them that are non-linearizable by construction.
//
// A history is produced by running random operations against a real
// sequential model of the store, one at a time, at linearization points
// 10 ns apart; each operation's call and return are then spread randomly
// around its point, so operations overlap. Some writes get an unknown outcome
// (return at +infinity) and, at random, did or did not take effect. Every Set
// writes a value unique in the history, which makes the mutations below
// provably impossible.
//
// Pure functions of the seed; not thread-safe only in the sense of sharing
// nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "testing/lincheck/operation.h"

namespace shardkv::lincheck {

struct RandomHistoryOptions {
  uint64_t seed = 1;
  int num_ops = 1000;
  int num_keys = 10;
  int num_clients = 8;          // for labelling only
  int64_t max_spread_ns = 200;  // call/return up to this far from
                                // the linearization point
  double unknown_write_fraction = 0.05;
  double conditional_fraction = 0.3;  // of writes
  double delete_fraction = 0.15;      // of all ops
  double get_fraction = 0.5;          // of all ops
};

std::vector<Operation> GenerateLinearizableHistory(
    const RandomHistoryOptions& options);

enum class Mutation {
  kReadNeverWrittenValue,  // a read returns a value no write wrote
  kReadWrongVersion,       // a read with a version reports another version
  kReadBeforeWrite,        // a read returns before its value's writer called
};

// Applies `mutation` to one randomly chosen suitable operation; returns the
// description of the changed op, or nullopt if no op was suitable.
std::optional<std::string> MutateHistory(std::vector<Operation>* ops,
                                         Mutation mutation, uint64_t seed);

}  // namespace shardkv::lincheck
