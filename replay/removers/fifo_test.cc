#include "replay/removers/fifo.h"

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(FifoRemoverTest, EvictsTheOldestRemainingItem) {
  FifoRemover remover(4);
  remover.Insert(1, 5.0);
  remover.Insert(3, 0.1);
  remover.Insert(0, 9.0);
  EXPECT_EQ(remover.Victim(), 1);
  remover.Remove(3);  // left early (max_times_sampled)
  remover.Remove(1);
  EXPECT_EQ(remover.Victim(), 0);
  remover.Update(0, 0.0);  // priorities do not matter
  EXPECT_EQ(remover.Victim(), 0);
  EXPECT_EQ(remover.size(), 1);
}

}  // namespace
}  // namespace rill::replay
