#include "common/backoff.h"

#include <set>

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(BackoffTest, DoublesFromInitialUpToMax) {
  Backoff backoff({absl::Milliseconds(100), absl::Milliseconds(500), /*jitter=*/0.0});
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(400));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(500));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(500));
}

TEST(BackoffTest, ResetStartsAgainFromInitial) {
  Backoff backoff({absl::Milliseconds(100), absl::Seconds(2), 0.0});
  backoff.Next();
  backoff.Next();
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, JitteredWaitsStayWithinTheirShareOfTheCeiling) {
  Backoff backoff({absl::Milliseconds(100), absl::Seconds(1), 0.5});
  for (int i = 0; i < 200; ++i) {
    const absl::Duration ceiling = backoff.ceiling();
    const absl::Duration wait = backoff.Next();
    EXPECT_GE(wait, ceiling / 2);
    EXPECT_LE(wait, ceiling);
  }
}

// A hundred clients whose streams broke at the same instant: their first
// retries must not all land together.
TEST(BackoffTest, ClientsThatFailTogetherRetryAtDifferentTimes) {
  std::set<int64_t> first_waits;
  for (int client = 0; client < 100; ++client) {
    Backoff backoff;
    first_waits.insert(absl::ToInt64Microseconds(backoff.Next()));
  }
  EXPECT_GT(first_waits.size(), 90u);
  EXPECT_GE(*first_waits.begin(), 50'000);
  EXPECT_LE(*first_waits.rbegin(), 100'000);
}

TEST(BackoffTest, JitterOutsideZeroToOneIsClamped) {
  Backoff backoff({absl::Milliseconds(100), absl::Seconds(1), 7.0});
  for (int i = 0; i < 50; ++i) EXPECT_GE(backoff.Next(), absl::ZeroDuration());
}

}  // namespace
}  // namespace rill
