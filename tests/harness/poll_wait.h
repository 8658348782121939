// PollWait: the harness's sleep between two polls of a wait loop (leader,
// convergence, settled map). A test may install one hook that every such
// sleep runs first, on the test's main thread: the chaos driver uses it to
// restart nodes that crashed at a failpoint at once, as a supervisor would,
// even while a long step (a scale-out waiting for its migrations) runs.
//
// Thread-safety: call from the test's main thread only (children started by
// the hook are tied to that thread, see testing/cluster/process.h). The
// hook is not run re-entrantly.
#pragma once

#include <chrono>
#include <functional>

namespace shardkv::test {

void SetPollHook(std::function<void()> hook);  // empty: none
void PollWait(std::chrono::milliseconds pause);

}  // namespace shardkv::test
