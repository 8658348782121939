// FreePort(): a TCP port on 127.0.0.1 that is free right now, for servers
// that tests start in child processes.
//
// Ports are drawn at random from 20000-32767, below Linux's default
// ephemeral range (32768-60999), so outgoing connections of the test
// itself cannot grab them between FreePort() and the child's bind(). A port
// is returned at most once per test process, and never to two test
// processes running at the same time (ctest -j, a benchmark beside the
// suite): each port handed out stays reserved, by an flock on
// $TMPDIR/shardkv-test-ports/<port>, until the process that took it exits.
// Without that, two processes could both find a port free and both start a
// server on it, and one would fail or (with SO_REUSEPORT) share its traffic.
//
// Thread-safe.
#pragma once

#include <cstdint>

namespace shardkv::test {

// Returns 0 if no free port was found (after many attempts).
uint16_t FreePort();

// Reserves `port` for this process (see above); false if another live
// process holds it. FreePort() calls it; exposed for tests.
bool ReservePortForThisProcess(uint16_t port);

}  // namespace shardkv::test
