// WriteAheadLog: the durability log of a replay shard in WAL mode. Each
// acknowledged insert request is a record in a numbered segment file
// DIR/wal-<segment>.log (format 2, wal_format.h: a segment header, then
// records numbered in sequence, with the items they hold and their place in
// their group commit); the replay service acknowledges a request only once
// its record is durable. A restart reads the log back with RecoverWal
// (wal_recovery.h), which tells a torn tail from lost acknowledged records.
//
// Group commit: Append only queues a record (its checksum computed by the
// caller's thread) and returns a ticket; one committer thread takes every
// queued record, writes them to the current segment, fdatasyncs once and
// then marks all their tickets durable, waking WaitDurable callers. While it
// syncs, new records queue up for the next group, so one sync covers many
// requests and throughput stays close to that of plain inserts.
// group_commit > 0 makes the committer wait that long after the first record
// of a group for more.
//
// Rotation: Rotate() makes later records go to a new segment. A checkpoint
// rotates first, then snapshots the tables; every record in an older
// segment was appended after its items were stored in a table (the service
// stores, then appends), hence before the snapshot, so once the checkpoint is
// committed those segments may be deleted (DeleteSegmentsBefore). A restore
// loads the checkpoint and replays the segments from its wal_segment on
// (ReadSegments); records of items already in the checkpoint are harmless
// (keys are idempotent). The checkpoint also keeps the log's position at the
// rotation (Rotate's `position`), so that recovery can check that the log
// still reaches back to it. Only inserts are logged: priority updates and
// samples after the last checkpoint are not (a restored item may come back
// with its checkpointed priority, or after it was sampled to max_times_sampled).
//
// After a write or sync error the log is failed for good: WaitDurable
// returns Unavailable for every ticket not yet durable and later appends,
// because what reached the disk is unknown.
//
// Thread-safety: all methods are thread-safe. The destructor writes and
// syncs what is queued and joins the committer.
#ifndef RILL_REPLAY_DURABILITY_WAL_H_
#define RILL_REPLAY_DURABILITY_WAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "replay/durability/wal_format.h"
#include "replay/durability/wal_recovery.h"

namespace rill::replay {

class WriteAheadLog {
 public:
  struct Options {
    std::string dir;
    // Number of the first segment this log writes (one past every existing one).
    uint64_t first_segment = 1;
    // Number of the first record and first item this log writes: where
    // recovery left off (WalRecoveryResult::next), so that numbers go on
    // across restarts. {1, 0} for a new log.
    WalPosition start;
    absl::Duration group_commit = absl::ZeroDuration();
    // Called by the committer with the duration of each write + sync (metrics).
    std::function<void(absl::Duration)> on_sync;
  };

  // What ReadSegments found.
  using ReadStats = WalRecoveryResult;

  // Creates the first segment (synced into the folder) and starts the
  // committer. Internal on an I/O error.
  static absl::StatusOr<std::unique_ptr<WriteAheadLog>> Open(Options options);
  ~WriteAheadLog();

  // Queues a record: `record` holds kRecordHeaderBytes placeholder bytes and
  // the payload; `items` is how many acknowledged items it holds (they are
  // numbered, so that recovery can count what damage lost). Computes the
  // payload's checksum on the caller's thread. Returns its ticket for
  // WaitDurable. Never blocks beyond the queue's mutex.
  uint64_t Append(std::string record, uint32_t items = 1) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until `ticket`'s record is durable (Ok), `deadline` passes
  // (DeadlineExceeded) or the log has failed (Unavailable with the reason).
  absl::Status WaitDurable(uint64_t ticket, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // The callback form of WaitDurable, for callers that must not hold a
  // thread (the replay service's reactors): calls `done` once `ticket`'s
  // record is durable (Ok) or the log has failed or closed before that
  // (Unavailable). It runs on the committer thread right after the sync that
  // covers the ticket, or at once on the caller's thread when that is already
  // known; never with the log's mutex held. Callbacks of one sync run in
  // ticket order. `done` must not block.
  void OnDurable(uint64_t ticket, std::function<void(absl::Status)> done) ABSL_LOCKS_EXCLUDED(mu_);

  // Records appended from now on go to a new segment, whose number it
  // returns; records appended before stay in the older ones. `position`, if
  // given, receives the log's position at the rotation (the new segment's
  // first record), which a checkpoint keeps.
  uint64_t Rotate(WalPosition* position = nullptr) ABSL_LOCKS_EXCLUDED(mu_);
  // Deletes the segment files numbered below `segment` (not the one being
  // written). Internal naming a file that cannot be removed.
  absl::Status DeleteSegmentsBefore(uint64_t segment) ABSL_LOCKS_EXCLUDED(mu_);
  // Bytes appended since the last Rotate (or Open).
  int64_t bytes_since_rotation() const ABSL_LOCKS_EXCLUDED(mu_);

  // The segment numbers in `dir`, ascending.
  static std::vector<uint64_t> ListSegments(const std::string& dir);
  static std::string SegmentPath(const std::string& dir, uint64_t segment);
  // Calls `apply` with each record payload of the segments numbered >=
  // `first_segment`, in order: RecoverWal with on_corruption kTruncate and no
  // known start, so it never refuses: a torn tail is dropped with a warning
  // and the log is read up to the first damage that lost records (counted in
  // the stats). Stops at the first error `apply` returns. ShardDurability
  // calls RecoverWal itself, with the operator's choice.
  static absl::StatusOr<ReadStats> ReadSegments(const std::string& dir, uint64_t first_segment,
                                                const std::function<absl::Status(std::string_view)>& apply);

 private:
  struct Entry {
    // The record as Append got it (placeholder, payload), or empty for a
    // rotation.
    std::string record;
    // Its header; the committer fills in the group offset and the header
    // checksum before writing it.
    WalRecordHeader header;
    char encoded_header[kWalRecordHeaderBytes];
    uint64_t next_segment = 0;  // a rotation: the segment to switch to
    WalPosition position;       // a rotation: the log's position there
  };

  struct DurableCallback {
    uint64_t ticket = 0;
    std::function<void(absl::Status)> done;
  };

  explicit WriteAheadLog(Options options);
  // Syncs and closes the current segment, creates `segment` with its header
  // saying the log is at `start`, and syncs the folder.
  absl::Status OpenSegment(uint64_t segment, const WalPosition& start);
  void CommitLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs, outside mu_, the callbacks whose ticket is durable now, or all of
  // them with `failure` when it is not ok.
  void RunDurableCallbacks(const absl::Status& failure) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status FailedStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;

  mutable absl::Mutex mu_;
  std::vector<Entry> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // tickets handed out
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;   // tickets synced
  uint64_t next_segment_ ABSL_GUARDED_BY(mu_);  // number Rotate hands out next
  WalPosition next_position_ ABSL_GUARDED_BY(mu_);  // numbers Append hands out next
  uint64_t writing_segment_ ABSL_GUARDED_BY(mu_);  // segment the committer writes
  int64_t bytes_since_rotation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool committer_done_ ABSL_GUARDED_BY(mu_) = false;  // CommitLoop returned
  std::vector<DurableCallback> callbacks_ ABSL_GUARDED_BY(mu_);  // OnDurable's, not yet run

  // The committer's alone (and Open's, before it starts the committer).
  int fd_ = -1;
  std::string path_;

  std::thread committer_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_WAL_H_
