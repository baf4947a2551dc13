#include "replay/selectors/fifo.h"

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(FifoSelectorTest, SamplesTheOldestItemWithProbabilityOne) {
  FifoSelector selector(4);
  selector.Insert(2, 0);
  selector.Insert(0, 0);
  selector.Insert(3, 0);
  absl::BitGen gen;
  const Selection first = selector.Sample(gen);
  EXPECT_EQ(first.slot, 2);
  EXPECT_EQ(first.probability, 1.0);
  selector.Remove(2);
  EXPECT_EQ(selector.Sample(gen).slot, 0);
  selector.Remove(3);  // out of order
  selector.Remove(0);
  EXPECT_EQ(selector.size(), 0);
  selector.Insert(3, 0);
  EXPECT_EQ(selector.Sample(gen).slot, 3);
}

// The table asks the selector, not its name, whether a sample must wait
// for a whole batch.
TEST(FifoSelectorTest, TakesWholeBatches) {
  EXPECT_TRUE(FifoSelector(4).takes_whole_batches());
}

TEST(FifoSelectorTest, RejectsPriorityUpdates) {
  FifoSelector selector(1);
  selector.Insert(0, 0);
  EXPECT_FALSE(selector.uses_priorities());
  EXPECT_EQ(selector.Update(0, 1.0).code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace rill::replay
