#include "replay/selectors/prioritized.h"

#include <cmath>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(PrioritizedSelectorTest, EmpiricalDistributionMatchesPrioritiesToTheAlpha) {
  // 200k draws with a fixed seed (deterministic). Each frequency's standard
  // deviation is at most sqrt(0.25 / 200000) ~= 0.0011, so a tolerance of
  // 0.005 is more than 4 sigma while a wrong alpha (0.6 vs 1 here) shifts
  // frequencies by 0.02 or more.
  constexpr double kAlpha = 0.6;
  constexpr int kDraws = 200000;
  constexpr double kTolerance = 0.005;
  const std::vector<double> priorities = {0.1, 1.0, 2.0, 4.0, 8.0, 0.5, 3.0};
  PrioritizedSelector selector(/*capacity=*/16, kAlpha);
  // Scatter the items over non-adjacent slots, across tree blocks.
  std::vector<int64_t> slots;
  for (size_t i = 0; i < priorities.size(); ++i) {
    slots.push_back(static_cast<int64_t>(2 * i + 1));
    selector.Insert(slots.back(), priorities[i]);
  }
  double total = 0;
  for (double p : priorities) total += std::pow(p, kAlpha);
  std::mt19937_64 gen(12345);
  std::vector<int> counts(16, 0);
  for (int i = 0; i < kDraws; ++i) {
    const Selection s = selector.Sample(gen);
    ++counts[s.slot];
  }
  for (size_t i = 0; i < priorities.size(); ++i) {
    const double expected = std::pow(priorities[i], kAlpha) / total;
    EXPECT_NEAR(static_cast<double>(counts[slots[i]]) / kDraws, expected, kTolerance) << "priority " << priorities[i];
    EXPECT_NEAR(selector.Probability(slots[i]), expected, 1e-12);
  }
  int empty_slot_draws = 0;
  for (int slot = 0; slot < 16; slot += 2) empty_slot_draws += counts[slot];
  EXPECT_EQ(empty_slot_draws, 0);
}

TEST(PrioritizedSelectorTest, SampleReportsTheProbabilityOfTheDrawnSlot) {
  PrioritizedSelector selector(4, /*priority_exponent=*/1.0);
  selector.Insert(0, 1.0);
  selector.Insert(2, 3.0);
  absl::BitGen gen;
  for (int i = 0; i < 100; ++i) {
    const Selection s = selector.Sample(gen);
    EXPECT_DOUBLE_EQ(s.probability, s.slot == 0 ? 0.25 : 0.75);
  }
}

TEST(PrioritizedSelectorTest, UpdateAndRemoveChangeProbabilities) {
  PrioritizedSelector selector(4, 1.0);
  selector.Insert(0, 1.0);
  selector.Insert(1, 1.0);
  selector.Insert(2, 2.0);
  ASSERT_TRUE(selector.Update(0, 2.0).ok());
  EXPECT_DOUBLE_EQ(selector.Probability(0), 0.4);
  selector.Remove(2);
  EXPECT_DOUBLE_EQ(selector.Probability(0), 2.0 / 3);
  EXPECT_EQ(selector.Probability(2), 0);
  EXPECT_EQ(selector.size(), 2);
}

TEST(PrioritizedSelectorTest, UpdateRejectsBadPrioritiesAndEmptySlots) {
  PrioritizedSelector selector(4, 1.0);
  selector.Insert(0, 1.0);
  selector.Insert(1, 3.0);
  for (double bad : {-1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    EXPECT_EQ(selector.Update(0, bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_DOUBLE_EQ(selector.Probability(0), 0.25);
  EXPECT_EQ(selector.Update(3, 1.0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PrioritizedSelectorTest, ZeroPriorityItemsAreNotDrawnUnlessAllAreZero) {
  PrioritizedSelector selector(4, 1.0);
  selector.Insert(0, 0.0);
  selector.Insert(1, 1.0);
  absl::BitGen gen;
  for (int i = 0; i < 200; ++i) EXPECT_EQ(selector.Sample(gen).slot, 1);
  ASSERT_TRUE(selector.Update(1, 0.0).ok());
  int zero_drawn = 0;
  for (int i = 0; i < 200; ++i) {
    const Selection s = selector.Sample(gen);
    EXPECT_DOUBLE_EQ(s.probability, 0.5);
    zero_drawn += s.slot == 0;
  }
  EXPECT_GT(zero_drawn, 0);
  EXPECT_LT(zero_drawn, 200);
}

TEST(PrioritizedSelectorTest, AlphaZeroSamplesUniformly) {
  PrioritizedSelector selector(4, 0.0);
  selector.Insert(0, 0.0);
  selector.Insert(1, 100.0);
  EXPECT_DOUBLE_EQ(selector.Probability(0), 0.5);
  EXPECT_DOUBLE_EQ(selector.Probability(1), 0.5);
}

}  // namespace
}  // namespace rill::replay
