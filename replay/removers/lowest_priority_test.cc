#include "replay/removers/lowest_priority.h"

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(LowestPriorityRemoverTest, EvictsTheMinimumPriority) {
  LowestPriorityRemover remover(8);
  remover.Insert(0, 3.0);
  remover.Insert(5, 0.5);
  remover.Insert(2, 2.0);
  EXPECT_EQ(remover.Victim(), 5);
  remover.Remove(5);
  EXPECT_EQ(remover.Victim(), 2);
}

TEST(LowestPriorityRemoverTest, FollowsPriorityUpdates) {
  LowestPriorityRemover remover(8);
  remover.Insert(0, 3.0);
  remover.Insert(1, 1.0);
  remover.Update(1, 10.0);
  EXPECT_EQ(remover.Victim(), 0);
  remover.Update(0, 20.0);
  EXPECT_EQ(remover.Victim(), 1);
}

TEST(LowestPriorityRemoverTest, BreaksTiesOldestFirst) {
  LowestPriorityRemover remover(8);
  remover.Insert(6, 1.0);
  remover.Insert(2, 1.0);
  remover.Insert(4, 1.0);
  EXPECT_EQ(remover.Victim(), 6);
  remover.Remove(6);
  EXPECT_EQ(remover.Victim(), 2);
}

}  // namespace
}  // namespace rill::replay
