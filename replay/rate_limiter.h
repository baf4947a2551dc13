// RateLimiter: keeps a replay table's ratio of sampled to inserted items near
// `samples_per_insert`, the mechanism of DeepMind Reverb. Sampling waits until
// the table holds `min_size_to_sample` items; after that the "diff"
//   inserts * samples_per_insert - samples
// must stay within [min_size * SPI - error_buffer, min_size * SPI + error_buffer]:
// an insert that would push it above the upper bound waits for samples, a
// sample that would push it below the lower bound waits for inserts.
// samples_per_insert = 0 disables the ratio: only the min size applies.
//
// Called by Table only. It is NOT locked itself: every method must be called
// under the owning table's mutex, which is also what waiters wait on (the
// table re-checks CanInsert / CanSample in its absl::Condition). It keeps the
// counters it decides on (inserts, samples, deletes) and, for monitoring, the
// cumulative time each side spent blocked.
#ifndef RILL_REPLAY_RATE_LIMITER_H_
#define RILL_REPLAY_RATE_LIMITER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/invalid_field.h"
#include "proto/config.pb.h"

namespace rill::replay {

// The largest count the limiter's bounds may reach: 2^53, below which
// doubles hold whole numbers exactly.
inline constexpr double kMaxLimiterCount = 9007199254740992.0;

class RateLimiter {
 public:
  enum class Side { kInsert, kSample };

  // The first rule `config` breaks, or nullopt: a negative or non-finite
  // value, an error_buffer or upper bound (min_size_to_sample *
  // samples_per_insert + error_buffer) above kMaxLimiterCount, or a ratio
  // with error_buffer < max(1, samples_per_insert), where neither one
  // insert nor one sample could ever proceed. The fields are
  // relative to the limiter ("error_buffer"); the table's rules
  // (table_config.h) prefix them.
  static std::optional<FieldIssue> FindConfigIssue(const v1::RateLimiterConfig& config);

  // InvalidArgument "rate_limiter.<field> <why>" for the first broken rule
  // (FindConfigIssue).
  static absl::StatusOr<RateLimiter> Create(const v1::RateLimiterConfig& config);

  // Whether `num_items` more items may be inserted / sampled now.
  bool CanInsert(int64_t num_items) const;
  // From now on every insert is admitted (CanInsert is true): the run is
  // stopping and nothing will sample for the ratio. For the life of this
  // limiter; a restarted shard limits again.
  void ReleaseInserts() { inserts_released_ = true; }
  bool inserts_released() const { return inserts_released_; }
  bool CanSample(int64_t num_items) const;

  // The largest k <= num_items with CanInsert(k) / CanSample(k): how many of
  // `num_items` may proceed now (0 when the side is blocked).
  int64_t MaxInsertable(int64_t num_items) const;
  int64_t MaxSamplable(int64_t num_items) const;

  // Records items that were inserted, sampled, or deleted (evicted) from the
  // table; the limiter's size is inserts - deletes.
  void Inserted(int64_t num_items) { inserts_ += num_items; }
  void Sampled(int64_t num_items) { samples_ += num_items; }
  void Deleted(int64_t num_items) { deletes_ += num_items; }
  // Sets the counters to those of a restored checkpoint, so that the ratio
  // carries on where the checkpointed shard left it. Blocked times restart at 0.
  void RestoreCounters(int64_t inserts, int64_t samples, int64_t deletes) {
    inserts_ = inserts;
    samples_ = samples;
    deletes_ = deletes;
  }

  // Why one more item cannot be inserted / sampled now, in words with the
  // counters and bounds; empty when it can.
  std::string InsertBlockedReason() const;
  std::string SampleBlockedReason() const;

  // Blocked-time bookkeeping: the table calls BeginWait before it waits on a
  // side and EndWait after. A side counts as blocked while at least one
  // caller waits on it (concurrent waiters are not added up).
  void BeginWait(Side side, absl::Time now);
  void EndWait(Side side, absl::Time now);
  // Cumulative blocked time of `side` up to `now`, including a wait in progress.
  absl::Duration BlockedTime(Side side, absl::Time now) const;
  // Whether a caller waits on `side` now, or the last wait ended at or
  // after `since`: a side held back by the ratio, whose callers are admitted
  // one at a time, is not caught between two waits.
  bool WaitedSince(Side side, absl::Time since) const;

  int64_t inserts() const { return inserts_; }
  int64_t samples() const { return samples_; }
  int64_t deletes() const { return deletes_; }
  int64_t size() const { return inserts_ - deletes_; }
  int64_t min_size_to_sample() const { return min_size_to_sample_; }
  double samples_per_insert() const { return samples_per_insert_; }
  double error_buffer() const { return error_buffer_; }

 private:
  struct WaitClock {
    int waiters = 0;
    absl::Time blocked_since;
    absl::Duration total;
    absl::Time last_end = absl::InfinitePast();
  };

  RateLimiter(int64_t min_size_to_sample, double samples_per_insert, double error_buffer);

  bool ratio_enabled() const { return samples_per_insert_ > 0; }
  // inserts * SPI - samples after `extra_inserts` more inserts and
  // `extra_samples` more samples.
  double Diff(int64_t extra_inserts, int64_t extra_samples) const;
  WaitClock& clock(Side side) { return side == Side::kInsert ? insert_wait_ : sample_wait_; }
  const WaitClock& clock(Side side) const {
    return side == Side::kInsert ? insert_wait_ : sample_wait_;
  }

  int64_t min_size_to_sample_;
  double samples_per_insert_;
  double error_buffer_;
  double min_diff_;
  double max_diff_;

  int64_t inserts_ = 0;
  int64_t samples_ = 0;
  int64_t deletes_ = 0;
  bool inserts_released_ = false;
  WaitClock insert_wait_;
  WaitClock sample_wait_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_RATE_LIMITER_H_
