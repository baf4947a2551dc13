#include "replay/selectors/uniform.h"

#include <map>

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
