#include "common/backoff.h"

#include <algorithm>

namespace rill {

Backoff::Backoff(const BackoffOptions& options) : options_(options), ceiling_(options.initial) {
  options_.jitter = std::clamp(options_.jitter, 0.0, 1.0);
}

absl::Duration Backoff::Next() {
  const absl::Duration wait = ceiling_ * (1.0 - options_.jitter * absl::Uniform(random_, 0.0, 1.0));
  ceiling_ = std::min(ceiling_ * 2, options_.max);
  return wait;
}

}  // namespace rill
