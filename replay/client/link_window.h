// LinkWindow: how many batches one replay stream keeps outstanding (a
// writer's unacknowledged inserts, a sampler's credits) so that a long or
// lossy link does not bound its rate. It is the stream's bandwidth-delay
// product, measured rather than configured:
//
//   window = clamp(ceil(headroom x rate x round_trip), min_batches, max_batches)
//
// `rate` is batches delivered per second (acknowledged inserts, batches the
// learner took), over periods of at least `rate_period`. `round_trip` is the
// largest health-check round trip of the last `horizon`: a health check is
// an HTTP/2 stream of its own on the shard's channel, answered on arrival,
// so it pays the link's latency, its retransmission stalls and the bytes
// queued ahead of it on the connection, but not the shard's rate limiter
// nor the batches waiting unread on the stream. Taking the largest over the
// horizon sizes the window to ride out a stall, not only the mean.
//
// While the window is what holds a stream back, rate = window / round trip,
// so each period the window doubles (headroom 2) until the link or the
// process at either end is the limit. While a shard's rate limiter holds a
// stream back, the rate is the limiter's and the round trip the link's, so
// the window stays near min_batches and the limiter's backpressure reaches
// the actor as it did with a fixed window. On loopback (round trips of
// 0.1 ms) the product is below min_batches: nothing changes there.
//
// Not thread-safe: its owner guards it (the writer's and sampler's locks).
#ifndef RILL_REPLAY_CLIENT_LINK_WINDOW_H_
#define RILL_REPLAY_CLIENT_LINK_WINDOW_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/time/time.h"

namespace rill::replay {

struct LinkWindowOptions {
  int min_batches = 8;
  // >= min_batches; equal: a fixed window.
  int max_batches = 8;
  double headroom = 2;
  absl::Duration horizon = absl::Seconds(10);
  absl::Duration rate_period = absl::Milliseconds(250);
};

class LinkWindow {
 public:
  explicit LinkWindow(const LinkWindowOptions& options = {});

  // A health check's round trip, answered at `now`.
  void AddRoundTrip(absl::Duration round_trip, absl::Time now);
  // `batches` more were delivered at `now`.
  void AddDelivered(int batches, absl::Time now);

  int batches() const { return window_; }
  int max_batches() const { return options_.max_batches; }
  // Lowers (or raises) the ceiling, kept >= min_batches: a sampler learns
  // its batches' size from the first one.
  void SetMaxBatches(int max_batches);
  // The largest round trip within the horizon (zero before any), and the
  // rate of the last completed period.
  absl::Duration round_trip() const;
  double batches_per_second() const { return rate_; }

 private:
  void Recompute();

  LinkWindowOptions options_;
  std::deque<std::pair<absl::Time, absl::Duration>> round_trips_;  // oldest first
  absl::Time period_start_ = absl::InfinitePast();
  int64_t period_batches_ = 0;
  double rate_ = 0;
  int window_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_LINK_WINDOW_H_
