// Failpoints: named places in the code where a test build can crash or
// stall on purpose, to reach states that kill -9 from outside hits only by
// luck (between persisting and acknowledging, mid snapshot install, between
// two migration steps).
//
//   SHARDKV_FAILPOINT("raft.after_persist");
//
// Compiled in only with -DSHARDKV_FAILPOINTS=ON (cmake option of the same
// name); otherwise the macro is empty and costs nothing. Which failpoints
// fire is read once from the environment:
//
//   SHARDKV_FAILPOINTS="name=action;name=action"
//   action: crash          _exit(86) at once, like kill -9 (no destructors,
//                          no flush of anything not yet on disk)
//           crash(P%)      crash with probability P percent per pass
//           sleep(MS)      stall this thread MS milliseconds
//           sleep(MS,P%)   stall with probability P percent
//   SHARDKV_FAILPOINT_SEED=N   seeds the probabilities (default: the pid)
//
// A failpoint that fires writes one line "failpoint NAME: ACTION" to stderr
// first, so a test can tell a planned crash from a real one.
//
// Thread-safety: Evaluate may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace shardkv::failpoint {

struct Action {
  enum Kind { kOff, kCrash, kSleep } kind = kOff;
  int sleep_ms = 0;
  double probability = 1.0;  // in [0, 1]
};

// Parses one action ("crash", "crash(5%)", "sleep(200)", "sleep(50,10%)").
StatusOr<Action> ParseAction(std::string_view text);
// Replaces the configuration (tests); `spec` has the environment's format.
Status Configure(std::string_view spec);
// Runs the action configured for `name`, if any.
void Evaluate(std::string_view name);

}  // namespace shardkv::failpoint

#ifdef SHARDKV_FAILPOINTS
#define SHARDKV_FAILPOINT(name) ::shardkv::failpoint::Evaluate(name)
#else
// Not evaluated, but its variables count as used (no -Wunused-parameter
// for a parameter only a failpoint name uses).
#define SHARDKV_FAILPOINT(name) \
  do {                          \
    (void)sizeof(name);         \
  } while (false)
#endif
