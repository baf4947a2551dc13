// Measure: the rate loop every `rill bench env` measurement runs on the
// calling thread. Header-only (a template over the step).
#ifndef RILL_BENCH_MEASURE_H_
#define RILL_BENCH_MEASURE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace rill::bench {

// Runs `step` (which performs `per_call` steps and returns absl::Status)
// until `duration` has passed, after 20 untimed calls (caches, lazy
// initialisation); returns steps per second. Errors: the first of `step`'s.
template <typename F>
absl::StatusOr<double> Measure(absl::Duration duration, double per_call, F step) {
  for (int i = 0; i < 20; ++i) RETURN_IF_ERROR(step());
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  int64_t calls = 0;
  absl::Time now = start;
  while (now < end) {
    for (int i = 0; i < 10; ++i) RETURN_IF_ERROR(step());
    calls += 10;
    now = absl::Now();
  }
  return calls * per_call / absl::ToDoubleSeconds(now - start);
}

// The fastest of `rounds` Measure runs of duration / rounds each: for a
// floor (an env's bare Step) that another process on the machine can only
// slow down, never speed up.
template <typename F>
absl::StatusOr<double> MeasureFastest(absl::Duration duration, double per_call, F step, int rounds = 3) {
  double fastest = 0;
  for (int r = 0; r < rounds; ++r) {
    ASSIGN_OR_RETURN(const double rate, Measure(duration / rounds, per_call, step));
    if (rate > fastest) fastest = rate;
  }
  return fastest;
}

}  // namespace rill::bench

#endif  // RILL_BENCH_MEASURE_H_
