#include "replay/removers/fifo_ring.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

using ::testing::ElementsAre;

TEST(FifoRingRemoverTest, EvictsOldestFirstAcrossTheWrapAround) {
  FifoRingRemover remover(3);
  remover.Insert(2, 0);
  remover.Insert(0, 0);
  remover.Insert(1, 0);
  EXPECT_EQ(remover.Victim(), 2);
  // A full table evicts the victim and reuses its slot for the new item.
  for (int round = 0; round < 7; ++round) {
    const int64_t victim = remover.Victim();
    remover.Remove(victim);
    remover.Insert(victim, 0);
  }
  std::vector<int64_t> order;
  remover.AppendOldestFirst(&order);
  // Seven evictions of a ring of three: the order has turned 7 mod 3 = 1 step.
  EXPECT_THAT(order, ElementsAre(0, 1, 2));
  EXPECT_EQ(remover.size(), 3);
  EXPECT_TRUE(remover.keeps_insertion_order());
}

TEST(FifoRingRemoverTest, DrainsAndRefills) {
  FifoRingRemover remover(2);
  remover.Insert(0, 0);
  remover.Insert(1, 0);
  remover.Remove(0);
  remover.Remove(1);
  EXPECT_EQ(remover.size(), 0);
  remover.Insert(1, 0);
  EXPECT_EQ(remover.Victim(), 1);
}

TEST(FifoRingRemoverDeathTest, RemovingAnyButTheOldestDies) {
  FifoRingRemover remover(3);
  remover.Insert(0, 0);
  remover.Insert(1, 0);
  EXPECT_DEATH(remover.Remove(1), "removed but the oldest is 0");
}

}  // namespace
}  // namespace rill::replay
