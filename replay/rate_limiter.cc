#include "replay/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace rill::replay {
namespace {

// The largest k in [0, n] with pred(k), for a predicate that holds for every
// k up to some threshold and for none above it.
template <typename Pred>
int64_t LargestAllowed(int64_t n, Pred pred) {
  if (n <= 0 || !pred(1)) return 0;
  int64_t lo = 1, hi = n;  // pred(lo) holds
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (pred(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace

std::optional<FieldIssue> RateLimiter::FindConfigIssue(const v1::RateLimiterConfig& config) {
  if (config.min_size_to_sample() < 0) {
    return FieldIssue{"min_size_to_sample", absl::StrCat(config.min_size_to_sample(), " must be >= 0")};
  }
  if (!(config.samples_per_insert() >= 0) || std::isinf(config.samples_per_insert())) {
    return FieldIssue{"samples_per_insert", absl::StrCat(config.samples_per_insert(), " must be finite and >= 0")};
  }
  if (!(config.error_buffer() >= 0) || std::isinf(config.error_buffer())) {
    return FieldIssue{"error_buffer", absl::StrCat(config.error_buffer(), " must be finite and >= 0")};
  }
  // The limiter counts in doubles, exact for whole numbers up to 2^53;
  // beyond that a bound is absurd (no run inserts or samples that many),
  // and what is derived from it (the largest admitted batch, its window)
  // would overflow.
  const double min_size = static_cast<double>(config.min_size_to_sample());
  const double spi = config.samples_per_insert();
  if (config.error_buffer() > kMaxLimiterCount) {
    return FieldIssue{"error_buffer", absl::StrCat(config.error_buffer(), " is above 2^53 = ", static_cast<int64_t>(kMaxLimiterCount),
                                                   ", the most the limiter counts exactly")};
  }
  if (min_size * spi + config.error_buffer() > kMaxLimiterCount) {
    return FieldIssue{"samples_per_insert",
                      absl::StrCat(spi, " times min_size_to_sample ", config.min_size_to_sample(),
                                   " plus error_buffer ", config.error_buffer(), " is above 2^53 = ", static_cast<int64_t>(kMaxLimiterCount),
                                   ", the most the limiter counts exactly")};
  }
  if (config.samples_per_insert() > 0 && config.error_buffer() < std::max(1.0, config.samples_per_insert())) {
    return FieldIssue{"error_buffer",
                      absl::StrCat(config.error_buffer(), " is smaller than max(1, samples_per_insert ",
                                   config.samples_per_insert(),
                                   "): neither one insert nor one sample could ever proceed (deadlock)")};
  }
  return std::nullopt;
}

absl::StatusOr<RateLimiter> RateLimiter::Create(const v1::RateLimiterConfig& config) {
  if (std::optional<FieldIssue> issue = FindConfigIssue(config)) {
    return absl::InvalidArgumentError(absl::StrCat("rate_limiter.", issue->field, " ", issue->why));
  }
  return RateLimiter(config.min_size_to_sample(), config.samples_per_insert(), config.error_buffer());
}

RateLimiter::RateLimiter(int64_t min_size_to_sample, double samples_per_insert, double error_buffer)
    : min_size_to_sample_(min_size_to_sample),
      samples_per_insert_(samples_per_insert),
      error_buffer_(error_buffer),
      min_diff_(min_size_to_sample * samples_per_insert - error_buffer),
      max_diff_(min_size_to_sample * samples_per_insert + error_buffer) {}

double RateLimiter::Diff(int64_t extra_inserts, int64_t extra_samples) const {
  return static_cast<double>(inserts_ + extra_inserts) * samples_per_insert_ -
         static_cast<double>(samples_ + extra_samples);
}

bool RateLimiter::CanInsert(int64_t num_items) const {
  if (inserts_released_) return true;
  // Until the min size is reached inserts are free to progress.
  if (!ratio_enabled() || size() + num_items <= min_size_to_sample_) return true;
  return Diff(num_items, 0) <= max_diff_;
}

bool RateLimiter::CanSample(int64_t num_items) const {
  // An empty table has nothing to sample even when min_size_to_sample is 0.
  if (size() < std::max<int64_t>(min_size_to_sample_, 1)) return false;
  if (!ratio_enabled()) return true;
  return Diff(0, num_items) >= min_diff_;
}

int64_t RateLimiter::MaxInsertable(int64_t num_items) const {
  return LargestAllowed(num_items, [this](int64_t k) { return CanInsert(k); });
}

int64_t RateLimiter::MaxSamplable(int64_t num_items) const {
  return LargestAllowed(num_items, [this](int64_t k) { return CanSample(k); });
}

std::string RateLimiter::InsertBlockedReason() const {
  if (CanInsert(1)) return "";
  return absl::StrCat("insert blocked: one more insert would raise inserts*samples_per_insert - samples to ",
                      Diff(1, 0), ", above min_size_to_sample*samples_per_insert + error_buffer = ",
                      max_diff_, "; waiting for samples (inserts=", inserts_, ", samples=", samples_,
                      ", size=", size(), ", samples_per_insert=", samples_per_insert_,
                      ", error_buffer=", error_buffer_, ")");
}

std::string RateLimiter::SampleBlockedReason() const {
  if (CanSample(1)) return "";
  const int64_t min_size = std::max<int64_t>(min_size_to_sample_, 1);
  if (size() < min_size) {
    return absl::StrCat("sample blocked: the table holds ", size(), " items, fewer than min_size_to_sample ",
                        min_size, "; waiting for inserts (inserts=", inserts_, ", samples=", samples_, ")");
  }
  return absl::StrCat("sample blocked: one more sample would lower inserts*samples_per_insert - samples to ",
                      Diff(0, 1), ", below min_size_to_sample*samples_per_insert - error_buffer = ",
                      min_diff_, "; waiting for inserts (inserts=", inserts_, ", samples=", samples_,
                      ", size=", size(), ", samples_per_insert=", samples_per_insert_,
                      ", error_buffer=", error_buffer_, ")");
}

void RateLimiter::BeginWait(Side side, absl::Time now) {
  WaitClock& c = clock(side);
  if (c.waiters++ == 0) c.blocked_since = now;
}

void RateLimiter::EndWait(Side side, absl::Time now) {
  WaitClock& c = clock(side);
  if (c.waiters > 0 && --c.waiters == 0) {
    c.total += now - c.blocked_since;
    c.last_end = now;
  }
}

bool RateLimiter::WaitedSince(Side side, absl::Time since) const {
  const WaitClock& c = clock(side);
  return c.waiters > 0 || c.last_end >= since;
}

absl::Duration RateLimiter::BlockedTime(Side side, absl::Time now) const {
  const WaitClock& c = clock(side);
  return c.waiters > 0 ? c.total + (now - c.blocked_since) : c.total;
}

}  // namespace rill::replay
