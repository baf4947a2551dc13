#include "replay/durability/shard_durability.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

OnCorruption FromConfig(v1::DurabilityConfig::OnCorruption on_corruption) {
  switch (on_corruption) {
    case v1::DurabilityConfig::SKIP_RECORD:
      return OnCorruption::kSkipRecord;
    case v1::DurabilityConfig::TRUNCATE:
      return OnCorruption::kTruncate;
    default:
      return OnCorruption::kRefuse;
  }
}

constexpr char kHowToAccept[] =
    "To start anyway, set replay.durability.on_corruption to SKIP_RECORD or TRUNCATE (the loss is logged, counted in "
    "rill_replay_recovery_lost_items_total and shown by `rill replay info`); or repair or restore the files first";

// "checkpoint 'P' is corrupt (why) and held N items", for the newest of
// `skipped`, and how many older ones were corrupt too.
std::string DescribeSkipped(const std::vector<SkippedCheckpoint>& skipped) {
  const SkippedCheckpoint& newest = skipped.front();
  std::string text = absl::StrCat("checkpoint '", newest.path, "' is corrupt (", newest.reason, ")");
  if (newest.items.has_value()) absl::StrAppend(&text, " and held ", *newest.items, " items");
  if (skipped.size() > 1) absl::StrAppend(&text, ", and so are ", skipped.size() - 1, " older ones");
  return text;
}

// What passing over the corrupt checkpoints `skipped` for `restored` loses
// where no log can make up for it: in checkpoint mode, and in WAL mode when
// the restored checkpoint predates log positions. Empty `text` otherwise
// (in WAL mode RecoverWal then checks that the log covers every item since
// the restored checkpoint).
struct SkippedLoss {
  std::string text;
  int64_t items = 0;
  bool unknown = false;
};

SkippedLoss JudgeSkippedCheckpoints(v1::DurabilityConfig::Mode mode, const std::vector<SkippedCheckpoint>& skipped,
                                    const std::optional<CheckpointSummary>& restored) {
  SkippedLoss loss;
  const SkippedCheckpoint& newest = skipped.front();
  const std::string fallback =
      restored.has_value()
          ? absl::StrCat("the next older checkpoint '", restored->path, "' holds ", restored->items, " items")
          : "no older checkpoint is readable";
  if (mode == v1::DurabilityConfig::CHECKPOINT) {
    loss.text = absl::StrCat(DescribeSkipped(skipped), "; ", fallback,
                             ", and checkpoint mode keeps no log of the items since: ");
    if (newest.items.has_value()) {
      // A lower bound: items may also have left between the two.
      loss.items = std::max<int64_t>(0, *newest.items - (restored.has_value() ? restored->items : 0));
      absl::StrAppend(&loss.text, "at least ", loss.items, " acknowledged items are lost");
    } else {
      absl::StrAppend(&loss.text, "an unknown number of acknowledged items are lost");
      loss.unknown = true;
    }
  } else if (restored.has_value() && !restored->wal_position.has_value()) {
    loss.text = absl::StrCat(DescribeSkipped(skipped), "; ", fallback,
                             " but predates write-ahead log positions, so it cannot be shown that the log covers "
                             "every item since it: an unknown number of acknowledged items may be lost");
    loss.unknown = true;
  }
  return loss;
}

// Inserts one log record's items into their table.
absl::Status ApplyLogRecord(const std::string& dir, const absl::flat_hash_map<std::string, Table*>& by_name,
                            std::string_view payload, EncodedInsert* record) {
  absl::Status parsed = EncodedInsert::ParseLogRecord(payload, record);
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat("the write-ahead log in '", dir, "': ", parsed.message()));
  }
  const v1::InsertRequest& request = record->request();
  auto it = by_name.find(request.table());
  if (it == by_name.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the write-ahead log in '", dir, "' holds items of table '", request.table(),
        "', which the config does not have; restore it with its own config or move the durability dir away"));
  }
  absl::Status st = it->second->ReplayInsert(record);
  if (absl::IsInvalidArgument(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the write-ahead log in '", dir, "' does not fit the config: ", st.message()));
  }
  if (absl::IsDataLoss(st)) {
    // A record whose checksum holds but whose compressed items do not
    // decompress: written damaged, not torn. Nothing of it is stored.
    return absl::DataLossError(absl::StrCat("the write-ahead log in '", dir, "' holds a damaged record: ",
                                            st.message()));
  }
  return st;
}

// Options of the log a shard writes on from where recovery left it: a new
// segment after every one on disk and after the checkpoint's, starting at
// `next`; `sync_seconds` (may be null) observes each group commit.
WriteAheadLog::Options ContinuedLogOptions(const v1::ReplayConfig& config, const std::string& dir,
                                           uint64_t first_recovered_segment, WalPosition next,
                                           prometheus::Histogram* sync_seconds) {
  WriteAheadLog::Options options;
  const std::vector<uint64_t> segments = WriteAheadLog::ListSegments(dir);
  options.dir = dir;
  options.first_segment = std::max<uint64_t>(segments.empty() ? 1 : segments.back() + 1, first_recovered_segment + 1);
  options.start = next;
  options.group_commit = absl::Microseconds(config.durability().group_commit_micros());
  if (sync_seconds != nullptr) {
    options.on_sync = [sync_seconds](absl::Duration d) { sync_seconds->Observe(absl::ToDoubleSeconds(d)); };
  }
  return options;
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
  recovery_lost_items_ = &prometheus::BuildCounter()
                              .Name("rill_replay_recovery_lost_items_total")
                              .Help("Acknowledged items that start-up recovery lost to damaged checkpoint or "
                                    "write-ahead log files (accepted by durability.on_corruption).")
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
  const v1::DurabilityConfig::OnCorruption choice = config.durability().on_corruption();
  if (!v1::DurabilityConfig::OnCorruption_IsValid(choice)) {
    return absl::InvalidArgumentError(absl::StrCat("replay.durability.on_corruption: ", choice,
                                                   " is unknown (known: REFUSE, SKIP_RECORD, TRUNCATE)"));
  }
  const OnCorruption on_corruption = FromConfig(choice);
  std::unique_ptr<ShardDurability> durability(new ShardDurability(config, dir, registry));
  ASSIGN_OR_RETURN(durability->store_, CheckpointStore::Open(dir, config.durability().keep_latest()));
  std::vector<SkippedCheckpoint> skipped;
  ASSIGN_OR_RETURN(std::optional<CheckpointSummary> restored,
                   durability->store_->RestoreLatest(config, tables, &skipped));
  std::string report;
  if (restored.has_value()) {
    report = absl::StrCat("restored checkpoint '", restored->path, "': ", restored->items, " items, ",
                          restored->bytes, " bytes, written ", absl::FormatTime(restored->completed));
  } else {
    report = absl::StrCat("no checkpoint in '", dir, "': starting empty");
  }

  // What recovery lost, once on_corruption accepted it.
  int64_t lost_items = 0;
  bool loss_unknown = false;
  std::vector<std::string> losses;
  if (!skipped.empty()) {
    const SkippedLoss loss = JudgeSkippedCheckpoints(mode, skipped, restored);
    if (!loss.text.empty()) {
      if (on_corruption == OnCorruption::kRefuse) {
        return absl::FailedPreconditionError(absl::StrCat("refusing to start: ", loss.text, ". ", kHowToAccept));
      }
      RILL_LOG(ERROR) << loss.text << " (on_corruption " << OnCorruptionName(on_corruption) << ": starting anyway)";
      losses.push_back(loss.text);
      lost_items += loss.items;
      loss_unknown |= loss.unknown;
    }
    absl::StrAppend(&report, "; passed over ", DescribeSkipped(skipped));
  }

  WriteAheadLog::Options options;
  if (mode == v1::DurabilityConfig::WAL) {
    // Replay the log written after the checkpoint.
    WalRecoveryOptions recovery;
    recovery.first_segment = restored.has_value() ? restored->wal_segment : 0;
    // Nothing restored: the log must reach back to its first record.
    recovery.start = restored.has_value() ? restored->wal_position : std::optional<WalPosition>(WalPosition{});
    recovery.on_corruption = on_corruption;
    absl::flat_hash_map<std::string, Table*> by_name;
    for (const auto& table : *tables) by_name[table->name()] = table.get();
    EncodedInsert record;
    bool apply_failed = false;
    auto apply = [&](std::string_view payload) -> absl::Status {
      absl::Status st = ApplyLogRecord(dir, by_name, payload, &record);
      apply_failed = !st.ok();
      return st;
    };
    absl::StatusOr<WalRecoveryResult> recovered = RecoverWal(dir, recovery, apply);
    if (!recovered.ok()) {
      if (apply_failed || !absl::IsFailedPrecondition(recovered.status())) return recovered.status();
      std::string context;
      if (!skipped.empty()) {
        context = absl::StrCat(DescribeSkipped(skipped), ", so the log must cover every item since ",
                               restored.has_value() ? absl::StrCat("'", restored->path, "'") : "its first record",
                               "; but ");
      }
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to start: ", context, recovered.status().message(), ". ", kHowToAccept));
    }
    const WalRecoveryResult& stats = *recovered;
    lost_items += stats.lost_items;
    loss_unknown |= stats.loss_unknown;
    losses.insert(losses.end(), stats.losses.begin(), stats.losses.end());
    int64_t held = 0;
    for (const auto& table : *tables) held += table->Stats().size;
    absl::StrAppend(&report, "; replayed ", stats.records, " write-ahead log records (", stats.bytes, " bytes) from ",
                    stats.segments, " segments", stats.torn_segments > 0 ? " (torn tails skipped)" : "");
    if (!skipped.empty() && losses.empty()) absl::StrAppend(&report, ", which cover every item since: nothing lost");
    absl::StrAppend(&report, "; now holding ", held, " items");
    options = ContinuedLogOptions(config, dir, recovery.first_segment, stats.next, durability->wal_sync_seconds_);
    ASSIGN_OR_RETURN(durability->wal_, WriteAheadLog::Open(options));
  }

  std::optional<CheckpointSummary> last = restored;
  if (!losses.empty()) {
    absl::StrAppend(&report, "; LOST ", loss_unknown ? "at least " : "", lost_items,
                    " acknowledged items to damaged files (on_corruption ", OnCorruptionName(on_corruption), ")");
    // Start the next run past the damage: a checkpoint of what was
    // recovered, taken before anything new is logged.
    std::vector<Table*> raw;
    for (const auto& table : *tables) raw.push_back(table.get());
    const bool wal = durability->wal_ != nullptr;
    ASSIGN_OR_RETURN(CheckpointSummary written,
                     durability->store_->Write(config, raw, wal ? options.first_segment : 0,
                                               wal ? std::optional<WalPosition>(options.start) : std::nullopt));
    absl::StrAppend(&report, "; wrote checkpoint '", written.path, "' of what was recovered");
    last = written;
  }
  if (durability->recovery_lost_items_ != nullptr) {
    durability->recovery_lost_items_->Increment(static_cast<double>(lost_items));
  }
  absl::MutexLock lock(&durability->mu_);
  durability->last_ = last;
  durability->last_restored_ = last.has_value();
  durability->checkpoints_written_ = losses.empty() ? 0 : 1;
  durability->restore_report_ = report;
  durability->lost_items_ = lost_items;
  durability->loss_unknown_ = loss_unknown;
  durability->losses_ = absl::StrJoin(losses, "; ");
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
  WalPosition position;
  const uint64_t segment = wal_ ? wal_->Rotate(&position) : 0;
  absl::StatusOr<CheckpointSummary> summary =
      store_->Write(config_, tables, segment, wal_ ? std::optional<WalPosition>(position) : std::nullopt);
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
  info.set_recovery_lost_items(lost_items_);
  info.set_recovery_loss_unknown(loss_unknown_);
  info.set_recovery_losses(losses_);
  return info;
}

std::string ShardDurability::RestoreReport() const {
  absl::MutexLock lock(&mu_);
  return restore_report_;
}

}  // namespace rill::replay
