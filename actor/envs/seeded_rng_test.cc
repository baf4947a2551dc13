#include "actor/envs/seeded_rng.h"

#include "gtest/gtest.h"

namespace rill::actor {
namespace {

TEST(SeededRngTest, SameSeedGivesTheSameSequence) {
  SeededRng a(123), b(123);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Uniform(-1, 1), b.Uniform(-1, 1));
}

TEST(SeededRngTest, SeedsDifferingOnlyInTheHighHalfDiffer) {
  SeededRng a(1), b(1 + (uint64_t{1} << 32));
  EXPECT_NE(a.Uniform(0, 1), b.Uniform(0, 1));
}

TEST(SeededRngTest, UniformStaysInHalfOpenRange) {
  SeededRng rng(9);
  for (int i = 0; i < 10000; ++i) {
    const double v = rng.Uniform(-0.05, 0.05);
    ASSERT_GE(v, -0.05);
    ASSERT_LT(v, 0.05);
  }
}

}  // namespace
}  // namespace rill::actor
