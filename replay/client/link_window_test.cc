#include "replay/client/link_window.h"

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

// Delivers `window` batches every `round_trip` for `periods` round trips,
// as a stream the window holds back does; returns the time reached.
absl::Time RunWindowBound(LinkWindow& window, absl::Duration round_trip, int periods, absl::Time now) {
  for (int i = 0; i < periods; ++i) {
    now += round_trip;
    window.AddRoundTrip(round_trip, now);
    window.AddDelivered(window.batches(), now);
  }
  return now;
}

TEST(LinkWindowTest, StartsAtItsFloorAndStaysThereOnLoopback) {
  LinkWindow window({.min_batches = 8, .max_batches = 1000});
  EXPECT_EQ(window.batches(), 8);
  // 2,000 batches/s at 0.1 ms: a product of 0.4 batches.
  absl::Time now = kStart;
  for (int i = 0; i < 100; ++i) {
    now += absl::Milliseconds(5);
    window.AddRoundTrip(absl::Microseconds(100), now);
    window.AddDelivered(10, now);
  }
  EXPECT_NEAR(window.batches_per_second(), 2000, 1);
  EXPECT_EQ(window.batches(), 8);
}

TEST(LinkWindowTest, GrowsWhileItHoldsTheStreamBackUntilItsCeiling) {
  LinkWindow window({.min_batches = 4, .max_batches = 300});
  // A 50 ms link: the window doubles each rate period until the ceiling.
  absl::Time now = RunWindowBound(window, absl::Milliseconds(50), 10, kStart);
  const int after_half_a_second = window.batches();
  EXPECT_GE(after_half_a_second, 8);
  RunWindowBound(window, absl::Milliseconds(50), 60, now);
  EXPECT_EQ(window.batches(), 300);
}

TEST(LinkWindowTest, CoversTheLongestRoundTripOfTheHorizonThenForgetsIt) {
  LinkWindow window({.min_batches = 1, .max_batches = 100000, .horizon = absl::Seconds(10)});
  absl::Time now = kStart;
  window.AddRoundTrip(absl::Milliseconds(250), now);  // a retransmission stall
  for (int i = 0; i < 40; ++i) {
    now += absl::Milliseconds(50);
    window.AddRoundTrip(absl::Milliseconds(50), now);
    window.AddDelivered(50, now);  // 1,000 batches/s
  }
  EXPECT_EQ(window.round_trip(), absl::Milliseconds(250));
  EXPECT_EQ(window.batches(), 500);  // 2 x 1,000/s x 250 ms
  now += absl::Seconds(11);
  window.AddRoundTrip(absl::Milliseconds(50), now);
  EXPECT_EQ(window.round_trip(), absl::Milliseconds(50));
  EXPECT_EQ(window.batches(), 100);  // 2 x 1,000/s x 50 ms
}

TEST(LinkWindowTest, ARateLimitedStreamKeepsASmallWindowOnALongLink) {
  // The shard admits 40 batches/s; the link is 50 ms: 2 x 40 x 0.05 = 4.
  LinkWindow window({.min_batches = 2, .max_batches = 1000});
  absl::Time now = kStart;
  for (int i = 0; i < 200; ++i) {
    now += absl::Milliseconds(25);
    window.AddRoundTrip(absl::Milliseconds(50), now);
    window.AddDelivered(1, now);
  }
  EXPECT_EQ(window.batches(), 4);
}

TEST(LinkWindowTest, ACeilingBelowTheFloorIsTheFloor) {
  LinkWindow window({.min_batches = 8, .max_batches = 2});
  EXPECT_EQ(window.max_batches(), 8);
  RunWindowBound(window, absl::Milliseconds(50), 40, kStart);
  EXPECT_EQ(window.batches(), 8);
  // Held at 8 over 50 ms: 160 batches/s, a product of 16.
  window.SetMaxBatches(20);
  EXPECT_EQ(window.batches(), 16);
  window.SetMaxBatches(10);
  EXPECT_EQ(window.batches(), 10);
}

}  // namespace
}  // namespace rill::replay
