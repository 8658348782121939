// FreePort(): a TCP port on 127.0.0.1 that is free right now, for servers
// that tests start in child processes.
//
// Ports are drawn at random from 20000-32767, below Linux's default
// ephemeral range (32768-60999), so outgoing connections of the test
// itself cannot grab them between FreePort() and the child's bind(). A port
// is returned at most once per test process.
//
// Thread-safe.
#pragma once

#include <cstdint>

namespace shardkv::test {

// Returns 0 if no free port was found (after many attempts).
uint16_t FreePort();

}  // namespace shardkv::test
