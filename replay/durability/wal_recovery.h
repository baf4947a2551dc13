// RecoverWal: reads a shard's write-ahead-log segments back at start-up
// (ShardDurability::Open), telling damage that lost acknowledged items from
// a write that a crash cut short, in the spirit of RocksDB's WAL recovery
// modes:
//
// - A torn tail: damage at the end of the log (or of a segment the next
//   segment does not go on from) with no sign that the records in it were
//   ever synced: the last group commit, cut short by a crash before its
//   fdatasync, so never acknowledged. Dropped (with the rest of its
//   segment), in every mode; not a loss. Garbage appended after the last
//   record is read the same way.
// - Damage inside the log: a bad record (checksum, header, a huge length)
//   followed by valid records of a later group commit, or a later segment
//   that starts past it; or a missing stretch of records (a missing segment,
//   or a log that begins after the position the restored checkpoint needs).
//   The records in it were synced, hence acknowledged: a loss. How many
//   records and items comes from the sequence and item numbers of the valid
//   records around it (format 2, wal_format.h); in a format-1 segment the
//   count is unknown.
//
// What happens on a loss is the operator's choice (OnCorruption):
//   kRefuse (the default): nothing is applied; FailedPrecondition naming the
//     file, the offset, why, the acknowledged items at stake and what
//     SKIP_RECORD / TRUNCATE would lose.
//   kSkipRecord: skip the damaged bytes, go on from the next valid record
//     (found by its magic), apply every valid record.
//   kTruncate: keep the log only up to the first loss (a consistent prefix
//     of the acknowledged history); everything after it is lost too.
// Either way the lost items are counted in the result.
//
// Segments are memory-mapped and scanned whole before anything is applied,
// so a refusal leaves the tables untouched. Thread-safe: a pure function of
// the files.
#ifndef RILL_REPLAY_DURABILITY_WAL_RECOVERY_H_
#define RILL_REPLAY_DURABILITY_WAL_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "replay/durability/wal_format.h"

namespace rill::replay {

// What recovery does with damage that lost acknowledged items (see above);
// DurabilityConfig.on_corruption in proto/config.proto.
enum class OnCorruption { kRefuse, kSkipRecord, kTruncate };

// "REFUSE", "SKIP_RECORD", "TRUNCATE" (the config's spelling).
const char* OnCorruptionName(OnCorruption on_corruption);

struct WalRecoveryOptions {
  // Segments numbered below this one are not read.
  uint64_t first_segment = 0;
  // Where the log must begin for nothing to be missing: the restored
  // checkpoint's position, or {1, 0} (the very beginning) when nothing was
  // restored. nullopt: unknown (a checkpoint written before positions were
  // recorded); then a gap before the first segment cannot be seen.
  std::optional<WalPosition> start;
  OnCorruption on_corruption = OnCorruption::kRefuse;
};

struct WalRecoveryResult {
  int64_t segments = 0;  // read
  int64_t records = 0;   // applied
  int64_t bytes = 0;     // of the applied records, headers included
  // Segments that ended in a torn write (dropped: never acknowledged).
  int64_t torn_segments = 0;
  int64_t torn_bytes = 0;
  // Acknowledged items and records lost to damage (skipped, or cut off by
  // kTruncate). Exact in format-2 segments; `loss_unknown` when some damage
  // in a format-1 segment lost a number of items that cannot be known.
  int64_t lost_items = 0;
  int64_t lost_records = 0;
  bool loss_unknown = false;
  // One line per damaged place that lost items: file, offset, why, items.
  std::vector<std::string> losses;
  // Where the next log goes on: past every valid record seen.
  WalPosition next;
};

// Reads the segments of `dir` numbered >= options.first_segment in order
// and calls `apply` with each record payload to keep, in order, as described
// above. FailedPrecondition on a loss with kRefuse (nothing applied);
// Internal when a file cannot be read; the first error `apply` returns.
absl::StatusOr<WalRecoveryResult> RecoverWal(const std::string& dir, const WalRecoveryOptions& options,
                                             const std::function<absl::Status(std::string_view)>& apply);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_WAL_RECOVERY_H_
