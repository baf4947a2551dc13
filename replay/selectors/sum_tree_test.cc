#include "replay/selectors/sum_tree.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(SumTreeTest, TotalFollowsSetsUpdatesAndRemovals) {
  SumTree tree(100);
  EXPECT_EQ(tree.total(), 0);
  tree.Set(3, 2.0);
  tree.Set(70, 5.0);
  tree.Set(99, 0.5);
  EXPECT_DOUBLE_EQ(tree.total(), 7.5);
  tree.Set(70, 1.0);  // an update
  EXPECT_DOUBLE_EQ(tree.total(), 3.5);
  tree.Set(3, 0);  // a removal
  EXPECT_DOUBLE_EQ(tree.total(), 1.5);
  EXPECT_DOUBLE_EQ(tree.Get(99), 0.5);
}

TEST(SumTreeTest, TotalMatchesASumOfLeavesAfterManyRandomUpdates) {
  constexpr int kCapacity = 1000;
  SumTree tree(kCapacity);
  std::vector<double> weights(kCapacity, 0);
  std::mt19937_64 gen(7);
  std::uniform_int_distribution<int> slot(0, kCapacity - 1);
  std::uniform_real_distribution<double> weight(0, 10);
  for (int i = 0; i < 100000; ++i) {
    const int s = slot(gen);
    weights[s] = i % 3 == 0 ? 0 : weight(gen);
    tree.Set(s, weights[s]);
  }
  double sum = 0;
  for (double w : weights) sum += w;
  // Parents are recomputed from their children: no drift from deltas.
  EXPECT_NEAR(tree.total(), sum, 1e-9 * sum);
}

TEST(SumTreeTest, FindReturnsTheSlotWhosePrefixIntervalHoldsTheValue) {
  SumTree tree(20);
  tree.Set(1, 1.0);   // [0, 1)
  tree.Set(9, 2.0);   // [1, 3)
  tree.Set(17, 3.0);  // [3, 6)
  EXPECT_EQ(tree.Find(0.0), 1);
  EXPECT_EQ(tree.Find(0.999), 1);
  EXPECT_EQ(tree.Find(1.0), 9);
  EXPECT_EQ(tree.Find(2.5), 9);
  EXPECT_EQ(tree.Find(3.0), 17);
  EXPECT_EQ(tree.Find(5.999), 17);
}

TEST(SumTreeTest, FindNeverReturnsAZeroWeightSlotEvenPastTheTotal) {
  SumTree tree(64);
  tree.Set(5, 1.0);
  tree.Set(40, 1.0);
  EXPECT_EQ(tree.Find(2.0), 40);
  EXPECT_EQ(tree.Find(1e9), 40);
}

TEST(SumTreeTest, FindManyAgreesWithFind) {
  SumTree tree(5000);
  std::mt19937_64 gen(3);
  std::uniform_real_distribution<double> weight(0, 1);
  for (int s = 0; s < 5000; s += 3) tree.Set(s, weight(gen));
  std::vector<double> values;
  std::uniform_real_distribution<double> value(0, tree.total());
  for (int i = 0; i < 300; ++i) values.push_back(value(gen));
  values.push_back(tree.total());  // past the end by rounding
  std::vector<int64_t> slots(values.size());
  tree.FindMany(values.data(), static_cast<int64_t>(values.size()), slots.data());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(slots[i], tree.Find(values[i])) << values[i];
}

TEST(SumTreeTest, SetManyMatchesOneSetPerSlotIncludingRepeatedSlots) {
  std::mt19937_64 gen(7);
  for (int64_t capacity : {1, 7, 8, 9, 64, 1000, 4097}) {
    SumTree one_by_one(capacity), batched(capacity);
    std::uniform_int_distribution<int64_t> slot(0, capacity - 1);
    std::uniform_real_distribution<double> weight(0.0, 5.0);
    for (int round = 0; round < 20; ++round) {
      std::vector<int64_t> slots;
      std::vector<double> weights;
      for (int i = 0; i < 37; ++i) {
        slots.push_back(slot(gen));
        weights.push_back(i % 9 == 0 ? 0.0 : weight(gen));
      }
      for (size_t i = 0; i < slots.size(); ++i) one_by_one.Set(slots[i], weights[i]);
      batched.SetMany(slots.data(), weights.data(), static_cast<int64_t>(slots.size()));
      ASSERT_EQ(batched.total(), one_by_one.total()) << "capacity " << capacity << " round " << round;
      for (int64_t s = 0; s < capacity; ++s) ASSERT_EQ(batched.Get(s), one_by_one.Get(s)) << "slot " << s;
      if (batched.total() > 0) {
        for (double f : {0.0, 0.25, 0.5, 0.999}) {
          EXPECT_EQ(batched.Find(f * batched.total()), one_by_one.Find(f * one_by_one.total()));
        }
      }
    }
  }
}

TEST(SumTreeTest, WorksWithOneSlotAndWithCapacitiesAcrossLevels) {
  for (int capacity : {1, 7, 8, 9, 64, 65, 513}) {
    SumTree tree(capacity);
    tree.Set(capacity - 1, 4.0);
    EXPECT_DOUBLE_EQ(tree.total(), 4.0) << capacity;
    EXPECT_EQ(tree.Find(3.9), capacity - 1) << capacity;
  }
}

}  // namespace
}  // namespace rill::replay
