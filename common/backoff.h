// Backoff: the waits between a reconnecting client's attempts. Each failure
// doubles the wait, from `initial` up to `max`; each wait is then drawn at
// random from [(1 - jitter) * wait, wait]. The randomness matters on a
// cluster: when a replay shard or the learner restarts, every actor's
// stream breaks in the same instant, and without jitter all of them would
// retry in lockstep, a thundering herd at every doubling. With jitter 0.5
// their attempts spread over half of each wait.
//
// Used by the replay writer and sampler and the actors' parameter client.
// Not thread-safe: each retry loop owns one.
#ifndef RILL_COMMON_BACKOFF_H_
#define RILL_COMMON_BACKOFF_H_

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace rill {

struct BackoffOptions {
  absl::Duration initial = absl::Milliseconds(100);
  absl::Duration max = absl::Seconds(2);
  // The fraction of each wait that is random, in [0, 1].
  double jitter = 0.5;
};

class Backoff {
 public:
  explicit Backoff(const BackoffOptions& options = BackoffOptions());

  // The wait before the next attempt; the one after it is twice as long
  // (before jitter), up to max.
  absl::Duration Next();

  // After a success: the next wait is `initial` again.
  void Reset() { ceiling_ = options_.initial; }

  // The wait Next would return without jitter.
  absl::Duration ceiling() const { return ceiling_; }

 private:
  BackoffOptions options_;
  absl::Duration ceiling_;
  absl::BitGen random_;
};

}  // namespace rill

#endif  // RILL_COMMON_BACKOFF_H_
