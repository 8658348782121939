#include "tests/harness/poll_wait.h"

#include <thread>
#include <utility>

namespace shardkv::test {
namespace {

std::function<void()>& Hook() {
  static std::function<void()> hook;
  return hook;
}
bool in_hook = false;

}  // namespace

void SetPollHook(std::function<void()> hook) { Hook() = std::move(hook); }

void PollWait(std::chrono::milliseconds pause) {
  if (Hook() && !in_hook) {
    in_hook = true;
    Hook()();
    in_hook = false;
  }
  std::this_thread::sleep_for(pause);
}

}  // namespace shardkv::test
