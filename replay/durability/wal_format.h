// The on-disk format of write-ahead-log segments (replay/durability/wal.h),
// shared by the writer and by recovery (wal_recovery.h).
//
// Format 2 (this code writes it). A segment DIR/wal-<n>.log opens with a
// header
//   [8 "RILLWALS"][u32 version 2][u32 0][u64 first sequence][u64 first item]
//   [u32 CRC-32C of the 32 bytes before]
// saying where the log stands when the segment starts, followed by records
//   [u32 kWalRecordMagic][u32 payload length][u64 sequence][u64 first item]
//   [u32 items][u32 group offset][u32 CRC-32C of the payload]
//   [u32 CRC-32C of the 36 header bytes before][payload]
// all little-endian. `sequence` numbers the records of a shard's log (+1 per
// record, carried across segments and restarts); `first item` numbers the
// acknowledged items (+items per record), so a gap between two valid records
// says exactly how many records and items are missing. `group offset` is the
// record's place in its group commit: every record before the group's first
// (sequence - group offset) was fdatasync'ed before this one was written,
// which tells a torn last group (never acknowledged) from damage to records
// that were. The magic lets a reader find the next record after damage.
//
// Format 1 (before): no segment header, records [u32 length][u32 CRC-32C of
// length and payload][payload] (record_file.h's framing). Still read;
// its first u32 is a length <= kMaxRecordBytes, which "RILL" is not.
//
// Thread-safe: pure functions.
#ifndef RILL_REPLAY_DURABILITY_WAL_FORMAT_H_
#define RILL_REPLAY_DURABILITY_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rill::replay {

// Where a log stands: the sequence number of its next record and the
// number of its next item. A new log starts at {1, 0}.
struct WalPosition {
  uint64_t sequence = 1;
  uint64_t item = 0;
  bool operator==(const WalPosition& o) const { return sequence == o.sequence && item == o.item; }
};

inline constexpr uint32_t kWalFormatVersion = 2;
inline constexpr size_t kWalSegmentHeaderBytes = 36;
inline constexpr size_t kWalRecordHeaderBytes = 40;
inline constexpr uint32_t kWalRecordMagic = 0x5752A7C3;

// A format-2 record header, decoded.
struct WalRecordHeader {
  uint32_t length = 0;
  uint64_t sequence = 0;
  uint64_t first_item = 0;
  uint32_t items = 0;
  uint32_t group_offset = 0;
  uint32_t payload_crc = 0;
};

// Writes the kWalSegmentHeaderBytes of a segment starting at `start`.
std::string EncodeWalSegmentHeader(const WalPosition& start);
// Whether `data` (at least `size` bytes) begins with a valid segment header;
// fills `start`.
bool DecodeWalSegmentHeader(const char* data, size_t size, WalPosition* start);
// Writes the kWalRecordHeaderBytes of `header` (magic and header checksum
// included) to `out`.
void EncodeWalRecordHeader(const WalRecordHeader& header, char* out);
// Whether `data` holds a record header with its magic and a matching header
// checksum (the payload is not checked); fills `header`.
bool DecodeWalRecordHeader(const char* data, size_t size, WalRecordHeader* header);

// The path of segment `segment` in `dir`, and the segment numbers there,
// ascending.
std::string WalSegmentPath(const std::string& dir, uint64_t segment);
std::vector<uint64_t> ListWalSegments(const std::string& dir);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_WAL_FORMAT_H_
