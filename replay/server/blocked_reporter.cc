#include "replay/server/blocked_reporter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rill::replay {
namespace {

constexpr char kInsertPrefix[] = "insert blocked:";
constexpr char kSamplePrefix[] = "sample blocked:";

}  // namespace

std::string SideReason(const std::string& blocked_reason, bool insert_side) {
  // Table::Info joins the two sides' reasons as "<insert>; <sample>", and
  // each starts with its prefix.
  const size_t begin = blocked_reason.find(insert_side ? kInsertPrefix : kSamplePrefix);
  if (begin == std::string::npos) return "";
  const size_t other = blocked_reason.find(insert_side ? kSamplePrefix : kInsertPrefix);
  const size_t end = other == std::string::npos || other < begin ? blocked_reason.size() : other;
  std::string reason = blocked_reason.substr(begin, end - begin);
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == ';')) reason.pop_back();
  return reason;
}

std::vector<BlockedLine> BlockedTracker::Update(const std::vector<v1::TableInfo>& tables, absl::Time now) {
  std::vector<BlockedLine> lines;
  for (const v1::TableInfo& table : tables) {
    UpdateSide(table, /*insert_side=*/true, now, &lines);
    UpdateSide(table, /*insert_side=*/false, now, &lines);
  }
  return lines;
}

void BlockedTracker::UpdateSide(const v1::TableInfo& table, bool insert_side, absl::Time now,
                                std::vector<BlockedLine>* lines) {
  const v1::RateLimiterInfo& limiter = table.rate_limiter();
  const double blocked_seconds =
      insert_side ? limiter.insert_blocked_seconds() : limiter.sample_blocked_seconds();
  const int64_t items = insert_side ? table.items_inserted() : table.items_sampled();
  SideState& state = sides_[absl::StrCat(table.name(), insert_side ? "/insert" : "/sample")];
  if (!state.seen) {
    state.seen = true;
    state.blocked_seconds = blocked_seconds;
    state.items = items;
    state.polled = now;
    return;
  }
  const double elapsed = absl::ToDoubleSeconds(now - state.polled);
  const double waited = blocked_seconds - state.blocked_seconds;
  const int64_t moved = items - state.items;
  const bool blocked = elapsed > 0 && waited >= min_blocked_fraction_ * elapsed;
  const char* what = insert_side ? "inserts" : "samples";
  if (blocked) {
    if (!state.in_streak) {
      state.in_streak = true;
      state.streak_base = state.blocked_seconds;
      state.throttled_logged = absl::InfinitePast();
    }
    std::string reason = SideReason(limiter.blocked_reason(), insert_side);
    if (reason.empty()) {
      // The limiter admits one item at this instant: a FIFO table waiting
      // for a whole batch, or a wait that ended just now.
      reason = "the rate limiter admits one more item right now (a queue waits for a whole batch)";
    }
    const std::string counters = absl::StrFormat("(size=%d, inserted=%d, sampled=%d)", table.size(),
                                                 table.items_inserted(), table.items_sampled());
    if (moved == 0) {
      if (!state.stalled) {
        state.stalled = true;
        state.stall_base = state.blocked_seconds;
      }
      lines->push_back(BlockedLine{
          LogLevel::kWarning, absl::StrFormat("table '%s': %s stalled for %.1f s (none in the last %.1f s): %s %s",
                                              table.name(), what, blocked_seconds - state.stall_base, elapsed,
                                              reason, counters)});
    } else {
      state.stalled = false;
      if (now - state.throttled_logged >= throttled_log_period_) {
        state.throttled_logged = now;
        lines->push_back(BlockedLine{
            LogLevel::kInfo,
            absl::StrFormat("table '%s': %s throttled by the rate limiter for %.1f s (waiting %.0f%% of the last "
                            "%.1f s, %d %s meanwhile): %s %s",
                            table.name(), what, blocked_seconds - state.streak_base, 100 * waited / elapsed, elapsed,
                            moved, insert_side ? "inserted" : "sampled", reason, counters)});
      }
    }
  } else if (state.in_streak) {
    state.in_streak = false;
    state.stalled = false;
    lines->push_back(BlockedLine{LogLevel::kInfo,
                                 absl::StrFormat("table '%s': %s no longer blocked (were blocked for %.1f s)",
                                                 table.name(), what, blocked_seconds - state.streak_base)});
  }
  state.blocked_seconds = blocked_seconds;
  state.items = items;
  state.polled = now;
}

BlockedReporter::BlockedReporter(std::vector<const Table*> tables, BlockedReporterOptions options)
    : tables_(std::move(tables)),
      options_(std::move(options)),
      tracker_(options_.min_blocked_fraction, options_.throttled_log_period),
      thread_([this] { Run(); }) {}

BlockedReporter::~BlockedReporter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void BlockedReporter::Run() {
  while (true) {
    std::vector<v1::TableInfo> infos;
    infos.reserve(tables_.size());
    for (const Table* table : tables_) infos.push_back(table->Info());
    for (const BlockedLine& line : tracker_.Update(infos, absl::Now())) {
      if (options_.sink) {
        options_.sink(line);
      } else {
        LogMessage(line.level, __FILE__, __LINE__).stream() << line.text;
      }
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval)) return;
  }
}

}  // namespace rill::replay
