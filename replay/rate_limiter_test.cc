#include "replay/rate_limiter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;

RateLimiter MakeLimiter(int64_t min_size, double spi, double error_buffer) {
  v1::RateLimiterConfig config;
  config.set_min_size_to_sample(min_size);
  config.set_samples_per_insert(spi);
  config.set_error_buffer(error_buffer);
  absl::StatusOr<RateLimiter> limiter = RateLimiter::Create(config);
  EXPECT_TRUE(limiter.ok()) << limiter.status();
  return *limiter;
}

TEST(RateLimiterTest, BlocksSampleUntilMinSizeReached) {
  RateLimiter limiter = MakeLimiter(/*min_size=*/3, /*spi=*/0, /*error_buffer=*/0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.CanSample(1)) << "size " << limiter.size();
    EXPECT_THAT(limiter.SampleBlockedReason(), HasSubstr("fewer than min_size_to_sample 3"));
    limiter.Inserted(1);
  }
  EXPECT_TRUE(limiter.CanSample(1));
  EXPECT_EQ(limiter.SampleBlockedReason(), "");
}

TEST(RateLimiterTest, EmptyTableCannotBeSampledEvenWithMinSizeZero) {
  RateLimiter limiter = MakeLimiter(0, 0, 0);
  EXPECT_FALSE(limiter.CanSample(1));
  limiter.Inserted(1);
  EXPECT_TRUE(limiter.CanSample(1));
}

TEST(RateLimiterTest, EvictionsCountAgainstMinSize) {
  RateLimiter limiter = MakeLimiter(2, 0, 0);
  limiter.Inserted(2);
  EXPECT_TRUE(limiter.CanSample(1));
  limiter.Deleted(1);
  EXPECT_EQ(limiter.size(), 1);
  EXPECT_FALSE(limiter.CanSample(1));
}

TEST(RateLimiterTest, ZeroSamplesPerInsertNeverBlocksInsertsOrSamplesAfterMinSize) {
  RateLimiter limiter = MakeLimiter(1, 0, 0);
  limiter.Inserted(1000000);
  EXPECT_TRUE(limiter.CanInsert(1000000));
  limiter.Sampled(1000000000);
  EXPECT_TRUE(limiter.CanSample(1000000));
  EXPECT_EQ(limiter.InsertBlockedReason(), "");
}

TEST(RateLimiterTest, ReleasedInsertsAreAdmittedPastTheRatioAndSamplesStillWait) {
  RateLimiter limiter = MakeLimiter(/*min_size=*/1, /*spi=*/1, /*error_buffer=*/2);
  limiter.Inserted(3);
  ASSERT_FALSE(limiter.CanInsert(1));
  limiter.ReleaseInserts();
  EXPECT_TRUE(limiter.inserts_released());
  EXPECT_TRUE(limiter.CanInsert(1000));
  EXPECT_EQ(limiter.MaxInsertable(10), 10);
  EXPECT_EQ(limiter.InsertBlockedReason(), "");
  // Sampling keeps its own rule: the ratio bounds it from below only.
  limiter.Inserted(1000);
  EXPECT_TRUE(limiter.CanSample(1));
}

// A side whose callers are admitted one at a time between waits still
// counts as held back for a while after its last wait ended.
TEST(RateLimiterTest, WaitedSinceSeesAWaitInProgressOrOneThatEndedSince) {
  RateLimiter limiter = MakeLimiter(/*min_size=*/1, /*spi=*/1, /*error_buffer=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const RateLimiter::Side insert = RateLimiter::Side::kInsert;
  EXPECT_FALSE(limiter.WaitedSince(insert, t0 - absl::Hours(1))) << "never waited";
  limiter.BeginWait(insert, t0);
  EXPECT_TRUE(limiter.WaitedSince(insert, t0 + absl::Hours(1))) << "waiting now";
  limiter.EndWait(insert, t0 + absl::Seconds(3));
  EXPECT_TRUE(limiter.WaitedSince(insert, t0 + absl::Seconds(2)));
  EXPECT_FALSE(limiter.WaitedSince(insert, t0 + absl::Seconds(4)));
  EXPECT_FALSE(limiter.WaitedSince(RateLimiter::Side::kSample, t0 - absl::Hours(1))) << "the other side";
}

TEST(RateLimiterTest, BlocksInsertWhenTooFarAheadOfSamples) {
  // max diff = 1 * 1 + 2 = 3: three inserts ahead of samples at most.
  RateLimiter limiter = MakeLimiter(/*min_size=*/1, /*spi=*/1, /*error_buffer=*/2);
  EXPECT_EQ(limiter.MaxInsertable(10), 3);
  limiter.Inserted(3);
  EXPECT_FALSE(limiter.CanInsert(1));
  EXPECT_EQ(limiter.MaxInsertable(10), 0);
  EXPECT_THAT(limiter.InsertBlockedReason(), HasSubstr("insert blocked"));
  EXPECT_THAT(limiter.InsertBlockedReason(), HasSubstr("above min_size_to_sample*samples_per_insert + error_buffer = 3"));
  EXPECT_THAT(limiter.InsertBlockedReason(), HasSubstr("inserts=3, samples=0"));
  limiter.Sampled(1);
  EXPECT_TRUE(limiter.CanInsert(1));
  EXPECT_FALSE(limiter.CanInsert(2));
  EXPECT_EQ(limiter.InsertBlockedReason(), "");
}

TEST(RateLimiterTest, BlocksSampleWhenTooFarAheadOfInserts) {
  // min diff = 2 * 2 - 4 = 0.
  RateLimiter limiter = MakeLimiter(/*min_size=*/2, /*spi=*/2, /*error_buffer=*/4);
  limiter.Inserted(2);  // diff 4
  EXPECT_EQ(limiter.MaxSamplable(10), 4);
  limiter.Sampled(4);
  EXPECT_FALSE(limiter.CanSample(1));
  EXPECT_THAT(limiter.SampleBlockedReason(), HasSubstr("below min_size_to_sample*samples_per_insert - error_buffer = 0"));
  limiter.Inserted(1);
  EXPECT_EQ(limiter.MaxSamplable(10), 2);
}

TEST(RateLimiterTest, RatioHoldsWithinErrorBufferUnderGreedyProducerAndConsumer) {
  const double spi = 4, error_buffer = 10;
  const int64_t min_size = 5;
  RateLimiter limiter = MakeLimiter(min_size, spi, error_buffer);
  for (int round = 0; round < 1000; ++round) {
    // Uneven chunk sizes, each side taking what it is allowed.
    limiter.Inserted(limiter.MaxInsertable(1 + round % 3));
    limiter.Sampled(limiter.MaxSamplable(1 + round % 7));
    const double diff = limiter.inserts() * spi - limiter.samples();
    if (limiter.size() < min_size) {  // the ratio starts at the min size
      ASSERT_EQ(limiter.samples(), 0);
      continue;
    }
    ASSERT_GE(diff, min_size * spi - error_buffer) << "round " << round;
    ASSERT_LE(diff, min_size * spi + error_buffer) << "round " << round;
  }
  ASSERT_GT(limiter.inserts(), 100);
  const double ratio = static_cast<double>(limiter.samples()) / limiter.inserts();
  EXPECT_NEAR(ratio, spi, (min_size * spi + error_buffer) / limiter.inserts());
}

TEST(RateLimiterTest, CountsBlockedTimePerSideWithoutDoubleCountingConcurrentWaiters) {
  RateLimiter limiter = MakeLimiter(1, 0, 0);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  limiter.BeginWait(RateLimiter::Side::kSample, t0);
  limiter.BeginWait(RateLimiter::Side::kSample, t0 + absl::Seconds(1));
  EXPECT_EQ(limiter.BlockedTime(RateLimiter::Side::kSample, t0 + absl::Seconds(2)), absl::Seconds(2));
  limiter.EndWait(RateLimiter::Side::kSample, t0 + absl::Seconds(3));
  limiter.EndWait(RateLimiter::Side::kSample, t0 + absl::Seconds(4));
  EXPECT_EQ(limiter.BlockedTime(RateLimiter::Side::kSample, t0 + absl::Seconds(10)), absl::Seconds(4));
  EXPECT_EQ(limiter.BlockedTime(RateLimiter::Side::kInsert, t0 + absl::Seconds(10)), absl::ZeroDuration());
}

TEST(RateLimiterTest, RejectsErrorBufferThatWouldDeadlock) {
  v1::RateLimiterConfig config;
  config.set_min_size_to_sample(10);
  config.set_samples_per_insert(8);
  config.set_error_buffer(4);
  absl::StatusOr<RateLimiter> limiter = RateLimiter::Create(config);
  EXPECT_EQ(limiter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(limiter.status().message(), HasSubstr("error_buffer"));
}

// A bound no run reaches, whose derived window would overflow (2 * 1e308
// is infinite), is refused by name instead of admitting anything.
TEST(RateLimiterTest, RejectsBoundsBeyondExactCounts) {
  v1::RateLimiterConfig config;
  config.set_min_size_to_sample(1000);
  config.set_samples_per_insert(256);
  config.set_error_buffer(1e308);
  absl::StatusOr<RateLimiter> limiter = RateLimiter::Create(config);
  EXPECT_EQ(limiter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(limiter.status().message(), HasSubstr("rate_limiter.error_buffer 1e+308 is above 2^53"));
  config.set_error_buffer(12800);
  config.set_samples_per_insert(1e13);
  EXPECT_THAT(RateLimiter::Create(config).status().message(), HasSubstr("rate_limiter.samples_per_insert 1e+13 times"));
  config.set_samples_per_insert(256);
  EXPECT_TRUE(RateLimiter::Create(config).ok());
}

TEST(RateLimiterTest, RejectsNegativeMinSize) {
  v1::RateLimiterConfig config;
  config.set_min_size_to_sample(-1);
  EXPECT_THAT(RateLimiter::Create(config).status().message(), HasSubstr("min_size_to_sample"));
}

}  // namespace
}  // namespace rill::replay
