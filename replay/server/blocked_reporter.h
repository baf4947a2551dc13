// BlockedReporter: makes a blocked replay table say why. A thread polls each
// table's Info() every `interval`; a side (insert or sample) whose callers
// spent most of that interval waiting on the rate limiter is blocked. It
// tells two cases apart:
//   stalled: nothing got through on that side during the interval. This is
//     the state nobody can diagnose in other systems (a learner that never
//     starts, actors frozen behind a dead learner), so a WARNING line goes
//     out every interval while it lasts:
//       table 'transitions': inserts stalled for 12.0 s (none in the last
//       5.0 s): insert blocked: one more insert would raise ... (inserts=...,
//       samples=..., size=..., ...)
//   throttled: callers wait but items flow; the limiter is pacing the fast
//     side to the slow one, which is its job (actors held to the learner's
//     samples_per_insert). One INFO line at the start and then every
//     `throttled_log_period` says so, with the same reason and counters.
// Once the side moves freely again, one line says so. The
// rill_replay_rate_limiter_blocked_seconds_total counter shows the same
// time; the log line adds the why.
//
// BlockedTracker is the decision logic without the thread or the clock, so
// that it can be tested with made-up TableInfos; BlockedReporter runs it.
//
// Thread-safety: BlockedTracker is not thread-safe (one owner).
// BlockedReporter starts its thread in the constructor and joins it in the
// destructor; the tables must outlive it. The sink is called from the
// reporter's thread only.
#ifndef RILL_REPLAY_SERVER_BLOCKED_REPORTER_H_
#define RILL_REPLAY_SERVER_BLOCKED_REPORTER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "proto/replay.pb.h"
#include "replay/table.h"

namespace rill::replay {

struct BlockedLine {
  LogLevel level = LogLevel::kWarning;  // kWarning while stalled, else kInfo
  std::string text;
};

struct BlockedReporterOptions {
  // How often the tables are polled, and so how often a blocked side is reported.
  absl::Duration interval = absl::Seconds(5);
  // A side counts as blocked over an interval when its callers waited for at
  // least this fraction of it: a learner that waits briefly for each batch
  // is not reported, one that waits most of the time is.
  double min_blocked_fraction = 0.5;
  // How often a throttled side (blocked, but items flow) is reported again.
  absl::Duration throttled_log_period = absl::Seconds(60);
  // Receives each line; unset: RILL_LOG at the line's level.
  std::function<void(const BlockedLine&)> sink;
};

class BlockedTracker {
 public:
  BlockedTracker(double min_blocked_fraction, absl::Duration throttled_log_period)
      : min_blocked_fraction_(min_blocked_fraction), throttled_log_period_(throttled_log_period) {}

  // Compares `tables` (Table::Info at `now`) with the previous call and
  // returns the lines to write: one per side stalled over the interval since,
  // one per side that became throttled or stayed throttled for
  // throttled_log_period since its last line, one per side no longer
  // blocked. The first call for a table only records.
  std::vector<BlockedLine> Update(const std::vector<v1::TableInfo>& tables, absl::Time now);

 private:
  struct SideState {
    bool seen = false;
    double blocked_seconds = 0;  // at the previous call
    int64_t items = 0;           // inserted / sampled at the previous call
    absl::Time polled;           // the previous call
    bool in_streak = false;
    double streak_base = 0;      // blocked_seconds when the streak began
    bool stalled = false;        // the streak's last interval let nothing through
    double stall_base = 0;       // blocked_seconds when the stall began
    absl::Time throttled_logged = absl::InfinitePast();
  };
  // Appends the line for one side, if any, and advances its state.
  void UpdateSide(const v1::TableInfo& table, bool insert_side, absl::Time now, std::vector<BlockedLine>* lines);

  const double min_blocked_fraction_;
  const absl::Duration throttled_log_period_;
  absl::flat_hash_map<std::string, SideState> sides_;  // by "table/insert", "table/sample"
};

// The part of RateLimiterInfo.blocked_reason about one side ("insert blocked:
// ..." or "sample blocked: ..."); empty when that side gave none.
std::string SideReason(const std::string& blocked_reason, bool insert_side);

class BlockedReporter {
 public:
  // Starts polling `tables` (not owned; they outlive the reporter).
  BlockedReporter(std::vector<const Table*> tables, BlockedReporterOptions options);
  // Stops the thread (wakes it at once) and joins it.
  ~BlockedReporter() ABSL_LOCKS_EXCLUDED(mu_);

  BlockedReporter(const BlockedReporter&) = delete;
  BlockedReporter& operator=(const BlockedReporter&) = delete;

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const std::vector<const Table*> tables_;
  const BlockedReporterOptions options_;
  BlockedTracker tracker_;  // used by the thread only
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SERVER_BLOCKED_REPORTER_H_
