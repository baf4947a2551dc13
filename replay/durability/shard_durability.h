// ShardDurability: what keeps a replay shard's items across a restart, per
// its DurabilityConfig (proto/config.proto):
//   "checkpoint": a checkpointer thread writes a checkpoint of every table
//     each checkpoint_interval_seconds (replay/checkpoint.h) and one more at
//     a graceful stop; a restart restores the newest complete one.
//   "wal": the same checkpoints plus a write-ahead log (replay/wal.h) that
//     the replay service appends every insert request to and waits on before
//     acknowledging it; a restart restores the checkpoint and replays the log
//     segments written after it, so every acknowledged item survives kill -9.
//   "none": nothing (Open is not called).
//
// Start-up (replay_main): CreateTables, Open (restores into the tables;
// FailedPrecondition for a checkpoint or log that does not fit the config),
// build the service on the tables, Start. Stop, after the server stopped,
// joins the thread and writes the final checkpoint.
//
// Damaged files (durability.on_corruption, proto/config.proto): a torn log
// tail is dropped as never acknowledged (wal_recovery.h). A corrupt
// checkpoint is passed over for the next older one only when the log still
// covers every item since that one (WAL mode, its position recorded and the
// log's records numbered on from it without a gap). Anything else loses
// acknowledged items: with REFUSE (the default) Open fails with
// FailedPrecondition naming the file, the offset and the items at stake;
// with SKIP_RECORD or TRUNCATE it goes on, logs the loss, counts it in
// rill_replay_recovery_lost_items_total and Info, and writes a checkpoint at
// once, so that the next start begins past the damage.
//
// Thread-safety: all methods are thread-safe; checkpoints are serialized.
#ifndef RILL_REPLAY_DURABILITY_SHARD_DURABILITY_H_
#define RILL_REPLAY_DURABILITY_SHARD_DURABILITY_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "replay/durability/checkpoint.h"
#include "replay/table.h"
#include "replay/durability/wal.h"

namespace rill::replay {

class ShardDurability {
 public:
  // Restores the newest checkpoint of `dir` into `tables` (built by
  // CreateTables(config); they may be replaced by fresh ones), then in WAL
  // mode replays the later log segments and opens a new one. config.durability()
  // gives mode ("checkpoint" or "wal"), interval, keep_latest and group
  // commit; `dir` is the shard's resolved folder. FailedPrecondition for a
  // checkpoint or log record that does not match the config (naming the
  // table, or for damage that loses acknowledged items with on_corruption
  // REFUSE, see above); Internal for an I/O error; InvalidArgument for mode
  // "none" or an unknown on_corruption. `registry` receives
  // rill_replay_checkpoint_*, rill_replay_wal_* and
  // rill_replay_recovery_lost_items_total; nullptr: none.
  static absl::StatusOr<std::unique_ptr<ShardDurability>> Open(const v1::ReplayConfig& config, const std::string& dir,
                                                               std::vector<std::unique_ptr<Table>>* tables,
                                                               prometheus::Registry* registry);
  // Stop()s.
  ~ShardDurability();

  // Starts the periodic checkpointer over `tables` (the ones Open filled, in
  // config order, owned by the service and outliving this object's Stop).
  void Start(std::vector<Table*> tables) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes one checkpoint now (rotating the log first in WAL mode, deleting
  // segments no kept checkpoint needs after). Blocks on disk I/O; Internal
  // on an I/O error (the previous checkpoints stay). FailedPrecondition
  // before Start.
  absl::Status Checkpoint() ABSL_LOCKS_EXCLUDED(mu_, checkpoint_mu_);
  // Stops the checkpointer thread and, if `final_checkpoint`, writes one
  // more checkpoint. Call after the server stopped taking inserts. Idempotent.
  absl::Status Stop(bool final_checkpoint) ABSL_LOCKS_EXCLUDED(mu_);

  // nullptr unless mode is "wal".
  WriteAheadLog* wal() const { return wal_.get(); }
  const std::string& mode() const { return mode_; }
  const std::string& dir() const { return dir_; }
  // The last checkpoint written or restored, and what recovery lost, for
  // InfoResponse.
  v1::CheckpointInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);
  // A line saying what Open restored, for the shard's log.
  std::string RestoreReport() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ShardDurability(const v1::ReplayConfig& config, std::string dir, prometheus::Registry* registry);
  void CheckpointLoop() ABSL_LOCKS_EXCLUDED(mu_, checkpoint_mu_);

  const v1::ReplayConfig config_;
  const std::string mode_;
  const std::string dir_;
  const absl::Duration interval_;
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<WriteAheadLog> wal_;

  prometheus::Histogram* checkpoint_seconds_ = nullptr;
  prometheus::Histogram* pause_seconds_ = nullptr;
  prometheus::Histogram* wal_sync_seconds_ = nullptr;
  prometheus::Counter* checkpoint_failures_ = nullptr;
  prometheus::Counter* recovery_lost_items_ = nullptr;

  absl::Mutex checkpoint_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one checkpoint at a time

  mutable absl::Mutex mu_;
  std::vector<Table*> tables_ ABSL_GUARDED_BY(mu_);
  std::optional<CheckpointSummary> last_ ABSL_GUARDED_BY(mu_);
  bool last_restored_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration longest_pause_ ABSL_GUARDED_BY(mu_);
  int64_t checkpoints_written_ ABSL_GUARDED_BY(mu_) = 0;
  std::string restore_report_ ABSL_GUARDED_BY(mu_);
  int64_t lost_items_ ABSL_GUARDED_BY(mu_) = 0;  // by recovery, accepted by on_corruption
  bool loss_unknown_ ABSL_GUARDED_BY(mu_) = false;
  std::string losses_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Not ABSL_GUARDED_BY: Start writes it under mu_ only while !stopping_, and
  // Stop reads it (join, outside mu_, since CheckpointLoop takes mu_) only
  // after setting stopping_ under mu_, so the two never overlap.
  std::thread thread_;
};

// The folder a shard keeps its checkpoints and log in: `flag_dir` (the
// --checkpoint_dir flag) as is when set, else config_dir/shard-<index>.
// InvalidArgument when both are empty.
absl::StatusOr<std::string> ResolveDurabilityDir(const std::string& flag_dir, const std::string& config_dir,
                                                 int shard_index);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_SHARD_DURABILITY_H_
