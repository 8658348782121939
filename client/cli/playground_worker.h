// PlaygroundWorker — the playground's orchestration thread: waits for the
// cluster, resumes a workflow a previous run left unfinished, joins and
// balances shards that are not in the slot map yet (the first start), prints
// the "endpoints:" line and a short status, then serves
// `playground scale` requests on DIR/control.sock by running the
// orchestration workflows (orchestration/workflows.h) over LocalProcesses.
//
// Run() is called on one long-lived thread; Stop(), ready() and failed()
// from any thread. Stop() makes a running workflow stop at its next check
// (its intent stays recorded; the next start resumes it).
#pragma once

#include <atomic>
#include <string>

#include "client/cli/playground_backend.h"
#include "client/cli/playground_control.h"

namespace shardkv::cli {

class PlaygroundWorker {
 public:
  PlaygroundWorker(LocalProcesses& processes, std::string dir);

  void Run();
  void Stop();
  // The endpoints line was printed.
  bool ready() const { return ready_; }
  // Startup failed (the reason is on stderr); the playground should exit.
  bool failed() const { return failed_; }

 private:
  Status StartSharded();
  Status StartUnsharded();
  void PrintReady();
  void HandleRequest(const std::string& request, ControlConnection& conn);
  Status Scale(int shards, ControlConnection& conn);

  LocalProcesses& processes_;
  const std::string dir_;
  ControlServer control_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> failed_{false};
};

}  // namespace shardkv::cli
