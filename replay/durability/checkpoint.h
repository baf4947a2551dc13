// Checkpoints of a replay shard's tables: folders under the shard's
// durability dir, written atomically and restored at start-up.
//
// Layout: DIR/ckpt-<sequence>/ holds one file per table (table-<i>.rtbl) and
// COMPLETE, the manifest, written last. Records are framed with CRC-32C
// (replay/record_file.h). A table file holds a header (magic and the table's
// TableConfig), the counters (rate limiter, default priority), the items in
// insertion order in chunks of about 4 MiB (keys, times sampled, priorities,
// then each column's rows), and an end record with the item count.
//
// Write: everything goes into DIR/.tmp-ckpt-<sequence>/, each file is
// fdatasync'ed, COMPLETE is written and synced, the folder synced, renamed
// to ckpt-<sequence> and DIR synced. A crash at any point leaves either the
// previous checkpoints or the new complete one; a leftover .tmp-* folder or
// a folder without a valid COMPLETE is skipped (with a warning) and removed
// by the next successful write, which also keeps only the newest
// `keep_latest` complete checkpoints.
//
// Each table is copied with Table::Snapshot (the only time its lock is
// held; the pause) and serialized after the lock is released.
//
// The manifest lists its fields, the table names, and (WAL mode) the log's
// position at the checkpoint's rotation as "wal_sequence"/"wal_item" lines
// after the names, where a reader of the format before ignores them.
//
// Restore: the newest complete checkpoint whose files read back with valid
// checksums. A checkpoint whose tables differ from the config (other tables,
// or a table whose config differs in anything but its rate limiter:
// signature, selector, remover, capacity, max_times_sampled, exponents) is
// refused with FailedPrecondition naming the table and the difference: the
// shard must not silently drop its data nor serve it under another layout.
// A corrupt one is skipped with a warning and the next older one tried,
// and reported to the caller: whether falling back loses acknowledged
// items is ShardDurability's to judge (it may refuse to start). A folder
// ckpt-<n> is a committed checkpoint (the rename is the commit), so one
// without a valid manifest counts as corrupt, unlike a .tmp-* folder.
//
// Thread-compatible: one thread (the shard's checkpointer) uses a store.
#ifndef RILL_REPLAY_DURABILITY_CHECKPOINT_H_
#define RILL_REPLAY_DURABILITY_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "replay/durability/wal_format.h"
#include "replay/table.h"

namespace rill::replay {

// What one checkpoint holds, and what writing it cost.
struct CheckpointSummary {
  std::string path;
  int64_t sequence = 0;
  absl::Time completed;
  int64_t items = 0;
  int64_t bytes = 0;  // payload bytes of the items
  absl::Duration duration;
  absl::Duration pause;  // longest Table::Snapshot lock hold of any table
  // WAL mode: the first log segment not covered by the checkpoint (a restore
  // replays it and the later ones); 0 otherwise.
  uint64_t wal_segment = 0;
  // WAL mode: the log's position at the rotation before the snapshot (its
  // first record not covered); nullopt otherwise, or in a checkpoint written
  // before positions were kept.
  std::optional<WalPosition> wal_position;
};

// A checkpoint RestoreLatest could not restore.
struct SkippedCheckpoint {
  std::string path;
  std::string reason;  // names the file (and offset) at fault
  // The items its manifest says it holds; nullopt when the manifest is
  // unreadable.
  std::optional<int64_t> items;
};

class CheckpointStore {
 public:
  // Creates `dir` if needed and finds the next sequence number. Internal if
  // the folder cannot be created or listed. keep_latest >= 1.
  static absl::StatusOr<std::unique_ptr<CheckpointStore>> Open(const std::string& dir, int keep_latest);

  // Writes a checkpoint of `tables` (tables[i] built from config.tables(i))
  // as described above, then prunes. Blocks on disk I/O and, briefly, on
  // each table's lock. Internal on an I/O error (nothing half-written is
  // left as a complete checkpoint; the previous ones stay).
  absl::StatusOr<CheckpointSummary> Write(const v1::ReplayConfig& config, const std::vector<Table*>& tables,
                                          uint64_t wal_segment,
                                          const std::optional<WalPosition>& wal_position = std::nullopt);

  // Restores the newest valid checkpoint into `tables` (freshly created,
  // empty, tables[i] from config.tables(i)); on a corrupt checkpoint the
  // tables are recreated empty before the next older one is tried. nullopt
  // when there is none. `skipped`, if given, receives the checkpoints newer
  // than the one restored that were corrupt (newest first).
  // FailedPrecondition for a config mismatch (see above); Internal /
  // InvalidArgument if tables cannot be recreated.
  absl::StatusOr<std::optional<CheckpointSummary>> RestoreLatest(const v1::ReplayConfig& config,
                                                                 std::vector<std::unique_ptr<Table>>* tables,
                                                                 std::vector<SkippedCheckpoint>* skipped = nullptr);

  // The smallest wal_segment of the complete checkpoints on disk (the log
  // must be kept from there on); 0 when there is none.
  uint64_t OldestNeededWalSegment() const;

  const std::string& dir() const { return dir_; }

 private:
  CheckpointStore(std::string dir, int keep_latest, int64_t next_sequence)
      : dir_(std::move(dir)), keep_latest_(keep_latest), next_sequence_(next_sequence) {}

  // Deletes leftover temporary folders, incomplete checkpoints and all but
  // the newest keep_latest_ complete ones.
  void Prune();

  const std::string dir_;
  const int keep_latest_;
  int64_t next_sequence_;
};

// Whether two table configs describe the same stored layout: equal in every
// field but the rate limiter. Otherwise FailedPrecondition naming the table
// and listing the differing fields.
absl::Status CheckTableConfigMatches(const v1::TableConfig& checkpointed, const v1::TableConfig& configured);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_CHECKPOINT_H_
