#include "replay/server/info_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rill::replay {
namespace {

std::string SideState(bool blocked, double blocked_seconds) {
  return absl::StrFormat("%s (waited %.1f s in total)", blocked ? "BLOCKED" : "free", blocked_seconds);
}

std::string FormatCheckpoint(const v1::CheckpointInfo& checkpoint, absl::Time now) {
  if (checkpoint.path().empty()) {
    return absl::StrCat("last checkpoint: none (", checkpoint.checkpoints_written(), " written since start)\n");
  }
  const absl::Time completed = absl::FromUnixMicros(static_cast<int64_t>(checkpoint.completed_unix_seconds() * 1e6));
  std::string text = absl::StrFormat(
      "last checkpoint: %s\n  completed %s (%.0f s ago)%s, %d items, %s, took %.2f s, longest table pause %.3f s\n"
      "  checkpoints written since start %d, longest pause %.3f s",
      checkpoint.path(), absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", completed, absl::UTCTimeZone()),
      absl::ToDoubleSeconds(now - completed), checkpoint.restored() ? ", restored at start-up" : "",
      checkpoint.items(), FormatBytes(checkpoint.bytes()), checkpoint.duration_seconds(), checkpoint.pause_seconds(),
      checkpoint.checkpoints_written(), checkpoint.longest_pause_seconds());
  if (checkpoint.wal_bytes() > 0) absl::StrAppend(&text, ", write-ahead log ", FormatBytes(checkpoint.wal_bytes()), " since");
  return absl::StrCat(text, "\n");
}

}  // namespace

std::string FormatBytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  if (b < 1e6) return absl::StrFormat("%.1f KB", b / 1e3);
  if (b < 1e9) return absl::StrFormat("%.1f MB", b / 1e6);
  return absl::StrFormat("%.2f GB", b / 1e9);
}

std::string FormatReplayInfo(const v1::InfoResponse& info, const std::string& address, absl::Time now) {
  const std::string mode = info.durability_mode().empty() ? "none" : info.durability_mode();
  std::string text = absl::StrFormat("replay shard %d at %s: %d table%s, durability %s\n", info.shard(), address,
                                     info.tables_size(), info.tables_size() == 1 ? "" : "s", mode);
  if (mode != "none" || !info.last_checkpoint().path().empty()) {
    absl::StrAppend(&text, FormatCheckpoint(info.last_checkpoint(), now));
  }
  const v1::CheckpointInfo& recovery = info.last_checkpoint();
  if (recovery.recovery_lost_items() > 0 || recovery.recovery_loss_unknown() || !recovery.recovery_losses().empty()) {
    absl::StrAppend(&text, "recovery at start-up LOST ", recovery.recovery_loss_unknown() ? "at least " : "",
                    recovery.recovery_lost_items(), " acknowledged items to damaged files (accepted by "
                    "durability.on_corruption): ", recovery.recovery_losses(), "\n");
  }
  for (const v1::TableInfo& table : info.tables()) {
    const v1::RateLimiterInfo& limiter = table.rate_limiter();
    const double fill = table.max_size() > 0 ? 100.0 * table.size() / table.max_size() : 0;
    absl::StrAppendFormat(&text,
                          "table '%s' (%s): %d of %d items (%.1f%%), %s; %d inserted, %d sampled, %d evicted\n",
                          table.name(), table.selector().empty() ? "uniform" : table.selector(), table.size(),
                          table.max_size(), fill, FormatBytes(table.bytes()), table.items_inserted(),
                          table.items_sampled(), table.items_evicted());
    absl::StrAppendFormat(&text, "  rate limiter: min_size_to_sample %d, samples_per_insert %g, error_buffer %g\n",
                          limiter.min_size_to_sample(), limiter.samples_per_insert(), limiter.error_buffer());
    absl::StrAppendFormat(&text, "  inserts: %s; samples: %s\n",
                          SideState(limiter.insert_blocked(), limiter.insert_blocked_seconds()),
                          SideState(limiter.sample_blocked(), limiter.sample_blocked_seconds()));
    if (!limiter.blocked_reason().empty()) absl::StrAppend(&text, "  why: ", limiter.blocked_reason(), "\n");
  }
  return text;
}

}  // namespace rill::replay
