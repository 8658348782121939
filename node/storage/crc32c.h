// CRC-32C (Castagnoli), as used by the segment log's records
// (log_segment.h). Uses the SSE4.2 crc32 instruction when the CPU has it
// (checked once at run time), else a byte-wise table.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shardkv::storage {

// Extends `crc` (the CRC of earlier bytes, 0 to start) with `data`.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(std::string_view data) {
  return Crc32cExtend(0, data.data(), data.size());
}

// The table-driven version, exposed so tests can compare both.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t size);

}  // namespace shardkv::storage
