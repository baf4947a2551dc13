#include "replay/client/link_window.h"

#include <algorithm>
#include <cmath>

namespace rill::replay {

LinkWindow::LinkWindow(const LinkWindowOptions& options) : options_(options), window_(options.min_batches) {
  options_.max_batches = std::max(options_.max_batches, options_.min_batches);
}

void LinkWindow::SetMaxBatches(int max_batches) {
  options_.max_batches = std::max(max_batches, options_.min_batches);
  Recompute();
}

void LinkWindow::AddRoundTrip(absl::Duration round_trip, absl::Time now) {
  round_trips_.emplace_back(now, round_trip);
  while (!round_trips_.empty() && now - round_trips_.front().first > options_.horizon) round_trips_.pop_front();
  Recompute();
}

void LinkWindow::AddDelivered(int batches, absl::Time now) {
  if (period_start_ == absl::InfinitePast()) {
    // The first delivery opens the first period: what came before it is
    // not known.
    period_start_ = now;
    return;
  }
  period_batches_ += batches;
  const absl::Duration elapsed = now - period_start_;
  if (elapsed < options_.rate_period) return;
  rate_ = static_cast<double>(period_batches_) / absl::ToDoubleSeconds(elapsed);
  period_start_ = now;
  period_batches_ = 0;
  Recompute();
}

absl::Duration LinkWindow::round_trip() const {
  absl::Duration longest = absl::ZeroDuration();
  for (const auto& [at, round_trip] : round_trips_) longest = std::max(longest, round_trip);
  return longest;
}

void LinkWindow::Recompute() {
  const double product = options_.headroom * rate_ * absl::ToDoubleSeconds(round_trip());
  const double capped = std::min<double>(std::ceil(product), options_.max_batches);
  window_ = std::max(options_.min_batches, static_cast<int>(capped));
}

}  // namespace rill::replay
