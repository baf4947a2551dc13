#include "envs/seeded_rng.h"

#include <cmath>

#include "gtest/gtest.h"

namespace rill::envs {
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

TEST(SeededRngTest, NormalHasMeanZeroAndVarianceOne) {
  SeededRng rng(5);
  constexpr int kDraws = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double v = rng.Normal();
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sum_sq += v * v;
  }
  const double mean = sum / kDraws;
  // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032
  // for the variance; five of them apart.
  EXPECT_NEAR(mean, 0.0, 0.011);
  EXPECT_NEAR(sum_sq / kDraws - mean * mean, 1.0, 0.016);
}

TEST(SeededRngTest, NormalIsDeterministicForASeed) {
  SeededRng a(77), b(77);
  for (int i = 0; i < 101; ++i) EXPECT_EQ(a.Normal(), b.Normal());
}

}  // namespace
}  // namespace rill::envs
