#include "replay/durability/shard_durability.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"

namespace rill::replay {
namespace {

// Checkpoint durations and pauses: 100 us .. ~100 s.
prometheus::Histogram::BucketBoundaries CheckpointBuckets() {
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b = 1e-4; b < 200; b *= 2.5) buckets.push_back(b);
  return buckets;
}

}  // namespace

absl::StatusOr<std::string> ResolveDurabilityDir(const std::string& flag_dir, const std::string& config_dir,
                                                 int shard_index) {
  if (!flag_dir.empty()) return flag_dir;
  if (config_dir.empty()) {
    return absl::InvalidArgumentError(
        "replay.durability.dir is empty (and no --checkpoint_dir given): a durable shard needs a folder");
  }
  return absl::StrCat(config_dir, "/shard-", shard_index);
}

ShardDurability::ShardDurability(const v1::ReplayConfig& config, std::string dir, prometheus::Registry* registry)
    : config_(config),
      mode_(absl::AsciiStrToLower(v1::DurabilityConfig::Mode_Name(config.durability().mode()))),
      dir_(std::move(dir)),
      interval_(absl::Seconds(config.durability().checkpoint_interval_seconds() > 0
                                  ? config.durability().checkpoint_interval_seconds()
                                  : 60)) {
  if (registry == nullptr) return;
  checkpoint_seconds_ = &prometheus::BuildHistogram()
                             .Name("rill_replay_checkpoint_seconds")
                             .Help("Time to write one checkpoint of all the shard's tables.")
                             .Register(*registry)
                             .Add({}, CheckpointBuckets());
  pause_seconds_ = &prometheus::BuildHistogram()
                        .Name("rill_replay_checkpoint_pause_seconds")
                        .Help("Longest time one checkpoint held a table's lock (inserts and samples paused).")
                        .Register(*registry)
                        .Add({}, CheckpointBuckets());
  checkpoint_failures_ = &prometheus::BuildCounter()
                              .Name("rill_replay_checkpoint_failures_total")
                              .Help("Checkpoints that failed to be written.")
                              .Register(*registry)
                              .Add({});
  if (config.durability().mode() == v1::DurabilityConfig::WAL) {
    wal_sync_seconds_ = &prometheus::BuildHistogram()
                             .Name("rill_replay_wal_sync_seconds")
                             .Help("Time of one group commit of the write-ahead log (write + fdatasync).")
                             .Register(*registry)
                             .Add({}, LatencyBuckets());
  }
}

absl::StatusOr<std::unique_ptr<ShardDurability>> ShardDurability::Open(const v1::ReplayConfig& config,
                                                                       const std::string& dir,
                                                                       std::vector<std::unique_ptr<Table>>* tables,
                                                                       prometheus::Registry* registry) {
  const v1::DurabilityConfig::Mode mode = config.durability().mode();
  if (mode != v1::DurabilityConfig::CHECKPOINT && mode != v1::DurabilityConfig::WAL) {
    return absl::InvalidArgumentError(
        absl::StrCat("durability mode ", v1::DurabilityConfig::Mode_Name(mode), " keeps nothing to open"));
  }
  std::unique_ptr<ShardDurability> durability(new ShardDurability(config, dir, registry));
  ASSIGN_OR_RETURN(durability->store_, CheckpointStore::Open(dir, config.durability().keep_latest()));
  ASSIGN_OR_RETURN(std::optional<CheckpointSummary> restored, durability->store_->RestoreLatest(config, tables));
  std::string report;
  if (restored.has_value()) {
    report = absl::StrCat("restored checkpoint '", restored->path, "': ", restored->items, " items, ",
                          restored->bytes, " bytes, written ", absl::FormatTime(restored->completed));
  } else {
    report = absl::StrCat("no checkpoint in '", dir, "': starting empty");
  }

  if (mode == v1::DurabilityConfig::WAL) {
    // Replay the log written after the checkpoint.
    const uint64_t first = restored.has_value() ? restored->wal_segment : 0;
    absl::flat_hash_map<std::string, Table*> by_name;
    for (const auto& table : *tables) by_name[table->name()] = table.get();
    v1::InsertRequest request;
    ASSIGN_OR_RETURN(WriteAheadLog::ReadStats stats,
                     WriteAheadLog::ReadSegments(dir, first, [&](std::string_view payload) -> absl::Status {
                       if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
                         return absl::DataLossError("a write-ahead log record with a valid checksum does not parse");
                       }
                       auto it = by_name.find(request.table());
                       if (it == by_name.end()) {
                         return absl::FailedPreconditionError(absl::StrCat(
                             "the write-ahead log in '", dir, "' holds items of table '", request.table(),
                             "', which the config does not have; restore it with its own config or move the "
                             "durability dir away"));
                       }
                       absl::Status st = it->second->ReplayInsert(request);
                       if (absl::IsInvalidArgument(st)) {
                         return absl::FailedPreconditionError(absl::StrCat(
                             "the write-ahead log in '", dir, "' does not fit the config: ", st.message()));
                       }
                       return st;
                     }));
    int64_t held = 0;
    for (const auto& table : *tables) held += table->Stats().size;
    absl::StrAppend(&report, "; replayed ", stats.records, " write-ahead log records (", stats.bytes, " bytes) from ",
                    stats.segments, " segments", stats.torn_segments > 0 ? " (torn tails skipped)" : "",
                    "; now holding ", held, " items");
    const std::vector<uint64_t> segments = WriteAheadLog::ListSegments(dir);
    WriteAheadLog::Options options;
    options.dir = dir;
    options.first_segment = std::max<uint64_t>(segments.empty() ? 1 : segments.back() + 1, first + 1);
    options.group_commit = absl::Microseconds(config.durability().group_commit_micros());
    if (durability->wal_sync_seconds_ != nullptr) {
      prometheus::Histogram* histogram = durability->wal_sync_seconds_;
      options.on_sync = [histogram](absl::Duration d) { histogram->Observe(absl::ToDoubleSeconds(d)); };
    }
    ASSIGN_OR_RETURN(durability->wal_, WriteAheadLog::Open(std::move(options)));
  }
  absl::MutexLock lock(&durability->mu_);
  durability->last_ = restored;
  durability->last_restored_ = restored.has_value();
  durability->restore_report_ = report;
  return durability;
}

ShardDurability::~ShardDurability() { Stop(/*final_checkpoint=*/false).IgnoreError(); }

void ShardDurability::Start(std::vector<Table*> tables) {
  absl::MutexLock lock(&mu_);
  tables_ = std::move(tables);
  if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { CheckpointLoop(); });
}

void ShardDurability::CheckpointLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
      if (stopping_) return;
    }
    absl::Status status = Checkpoint();
    if (!status.ok()) RILL_LOG(ERROR) << "checkpoint failed: " << status;
  }
}

absl::Status ShardDurability::Checkpoint() {
  absl::MutexLock checkpoint_lock(&checkpoint_mu_);
  std::vector<Table*> tables;
  {
    absl::MutexLock lock(&mu_);
    tables = tables_;
  }
  if (tables.empty()) return absl::FailedPreconditionError("checkpoint before ShardDurability::Start");
  // Rotate before the snapshot: see wal.h for why no acknowledged item is lost.
  const uint64_t segment = wal_ ? wal_->Rotate() : 0;
  absl::StatusOr<CheckpointSummary> summary = store_->Write(config_, tables, segment);
  if (!summary.ok()) {
    if (checkpoint_failures_ != nullptr) checkpoint_failures_->Increment();
    return summary.status();
  }
  if (wal_) RETURN_IF_ERROR(wal_->DeleteSegmentsBefore(store_->OldestNeededWalSegment()));
  if (checkpoint_seconds_ != nullptr) checkpoint_seconds_->Observe(absl::ToDoubleSeconds(summary->duration));
  if (pause_seconds_ != nullptr) pause_seconds_->Observe(absl::ToDoubleSeconds(summary->pause));
  absl::MutexLock lock(&mu_);
  last_ = *summary;
  last_restored_ = false;
  longest_pause_ = std::max(longest_pause_, summary->pause);
  ++checkpoints_written_;
  return absl::OkStatus();
}

absl::Status ShardDurability::Stop(bool final_checkpoint) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::OkStatus();
    stopped_ = true;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::Status status;
  if (final_checkpoint) status = Checkpoint();
  return status;
}

v1::CheckpointInfo ShardDurability::Info() const {
  v1::CheckpointInfo info;
  const int64_t wal_bytes = wal_ ? wal_->bytes_since_rotation() : 0;
  absl::MutexLock lock(&mu_);
  if (last_.has_value()) {
    info.set_path(last_->path);
    info.set_completed_unix_seconds(absl::ToDoubleSeconds(last_->completed - absl::UnixEpoch()));
    info.set_items(last_->items);
    info.set_bytes(last_->bytes);
    info.set_duration_seconds(absl::ToDoubleSeconds(last_->duration));
    info.set_pause_seconds(absl::ToDoubleSeconds(last_->pause));
  }
  info.set_longest_pause_seconds(absl::ToDoubleSeconds(longest_pause_));
  info.set_checkpoints_written(checkpoints_written_);
  info.set_wal_bytes(wal_bytes);
  info.set_restored(last_restored_);
  return info;
}

std::string ShardDurability::RestoreReport() const {
  absl::MutexLock lock(&mu_);
  return restore_report_;
}

}  // namespace rill::replay
