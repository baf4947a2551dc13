// CRC-32C (Castagnoli), the checksum of checkpoint and write-ahead-log
// records (replay/checkpoint.h, replay/wal.h). Uses the SSE4.2 crc32
// instruction when the CPU has it (several GB/s), a table otherwise.
// Thread-safe: pure functions.
#ifndef RILL_REPLAY_DURABILITY_CRC32C_H_
#define RILL_REPLAY_DURABILITY_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace rill::replay {

// The CRC-32C of `size` bytes at `data`, continuing from `crc` (the value of
// the preceding bytes; 0 to start).
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_CRC32C_H_
