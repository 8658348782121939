// Key -> slot routing, the one function every client and node must agree
// on (docs/sharding.md specifies it for clients in other languages):
//
//   slot = fnv1a64(key) mod slot_count
//
// fnv1a64 is 64-bit FNV-1a over the key bytes; slot_count is a power of two
// in [1, 65536], fixed when the cluster is created. Because it is a power
// of two, slot = KeyPrefix(key) mod slot_count, where KeyPrefix is the low
// 16 bits of the hash: nodes store each key under its 16-bit prefix, so
// every slot is a fixed set of 65536 / slot_count key ranges whatever the
// slot count.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardkv {

inline constexpr uint32_t kDefaultSlotCount = 4096;
inline constexpr uint32_t kMaxSlotCount = 65536;

constexpr uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// True for a power of two in [1, kMaxSlotCount].
constexpr bool ValidSlotCount(uint64_t slot_count) {
  return slot_count >= 1 && slot_count <= kMaxSlotCount &&
         (slot_count & (slot_count - 1)) == 0;
}

// REQUIRES: ValidSlotCount(slot_count).
constexpr uint32_t SlotOf(std::string_view key, uint32_t slot_count) {
  return static_cast<uint32_t>(Fnv1a64(key) % slot_count);
}

// The 16-bit storage prefix of a key; SlotOf(key, n) == KeyPrefix(key) % n.
constexpr uint16_t KeyPrefix(std::string_view key) {
  return static_cast<uint16_t>(Fnv1a64(key) & 0xffff);
}

}  // namespace shardkv
