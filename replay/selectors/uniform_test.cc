#include "replay/selectors/uniform.h"

#include <map>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(UniformSelectorTest, SamplesOnlyOccupiedSlotsWithProbabilityOneOverSize) {
  UniformSelector selector(10);
  selector.Insert(2, 0);
  selector.Insert(5, 0);
  selector.Insert(7, 0);
  selector.Remove(5);
  ASSERT_EQ(selector.size(), 2);
  absl::BitGen gen;
  std::map<int64_t, int> counts;
  for (int i = 0; i < 2000; ++i) {
    Selection s = selector.Sample(gen);
    EXPECT_DOUBLE_EQ(s.probability, 0.5);
    ++counts[s.slot];
  }
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[2], 800);
  EXPECT_GT(counts[7], 800);
}

TEST(UniformSelectorTest, BatchDrawsAreUniformOverOccupiedSlots) {
  // 7 of 12 slots occupied after removals; 70,000 draws in batches of 256.
  UniformSelector selector(12);
  for (int64_t slot = 0; slot < 12; ++slot) selector.Insert(slot, 0);
  for (int64_t slot : {0, 3, 4, 9, 11}) selector.Remove(slot);
  ASSERT_EQ(selector.size(), 7);
  absl::BitGen gen(std::seed_seq{42});
  std::vector<Selection> draws;
  while (draws.size() < 70000) selector.SampleMany(gen, 256, &draws);
  std::map<int64_t, int> counts;
  for (const Selection& draw : draws) {
    ASSERT_DOUBLE_EQ(draw.probability, 1.0 / 7);
    ++counts[draw.slot];
  }
  ASSERT_EQ(counts.size(), 7u);
  // Pearson's chi-square with 6 degrees of freedom: 22.46 is its 0.999
  // quantile, so a uniform draw fails this one time in a thousand (the
  // seed is fixed: it passes or fails every time).
  const double expected = static_cast<double>(draws.size()) / 7;
  double chi_square = 0;
  for (const auto& [slot, count] : counts) {
    EXPECT_TRUE(slot == 1 || slot == 2 || slot == 5 || slot == 6 || slot == 7 || slot == 8 || slot == 10) << slot;
    chi_square += (count - expected) * (count - expected) / expected;
  }
  EXPECT_LT(chi_square, 22.46);
}

TEST(UniformSelectorTest, SlotCanBeReusedAfterRemoval) {
  UniformSelector selector(2);
  selector.Insert(0, 0);
  selector.Insert(1, 0);
  selector.Remove(0);
  selector.Remove(1);
  selector.Insert(1, 0);
  absl::BitGen gen;
  EXPECT_EQ(selector.Sample(gen).slot, 1);
}

TEST(UniformSelectorTest, RejectsPriorityUpdates) {
  UniformSelector selector(1);
  selector.Insert(0, 0);
  EXPECT_FALSE(selector.uses_priorities());
  EXPECT_EQ(selector.Update(0, 1.0).code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace rill::replay
