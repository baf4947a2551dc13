#include "envs/episode_statistics.h"

#include <cmath>
#include <memory>

#include "envs/registry.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

std::unique_ptr<EpisodeStatistics> Wrap(const std::string& name, int max_episode_steps) {
  auto env = MakeEnv(name, max_episode_steps, /*seed=*/1);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::make_unique<EpisodeStatistics>(std::move(env).value());
}

TEST(EpisodeStatisticsTest, RecordsReturnAndLengthOfATruncatedEpisode) {
  auto env = Wrap("Pendulum-v1", 5);
  EXPECT_EQ(env->name(), "Pendulum-v1");
  EXPECT_EQ(env->max_episode_steps(), 5);
  float obs[3];
  env->Reset(obs);
  const float u = 0.5f;
  double sum = 0;
  for (int step = 1; step <= 5; ++step) {
    absl::StatusOr<StepResult> result = env->Step(&u, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    sum += result->reward;
    EXPECT_EQ(env->finished().has_value(), step == 5) << "step " << step;
  }
  ASSERT_TRUE(env->finished().has_value());
  EXPECT_NEAR(env->finished()->episode_return, sum, 1e-9);
  EXPECT_LT(env->finished()->episode_return, 0);  // Pendulum's rewards are costs.
  EXPECT_EQ(env->finished()->length, 5);
  EXPECT_FALSE(env->finished()->terminated);
  EXPECT_EQ(env->episodes(), 1);
}

TEST(EpisodeStatisticsTest, RecordsATerminatedEpisodeAndStartsTheNextFromZero) {
  auto env = Wrap("CartPole-v1", 0);
  float obs[4];
  env->Reset(obs);
  const float right = 1.0f;
  int steps = 0;
  // Pushing right only topples the pole within a few dozen steps; every
  // CartPole step pays 1, so the return equals the length.
  while (!env->finished().has_value()) {
    ASSERT_TRUE(env->Step(&right, obs).ok());
    ++steps;
    ASSERT_LT(steps, 500);
  }
  EXPECT_TRUE(env->finished()->terminated);
  EXPECT_EQ(env->finished()->length, steps);
  EXPECT_DOUBLE_EQ(env->finished()->episode_return, steps);
  env->Reset(obs);
  EXPECT_FALSE(env->finished().has_value());
  ASSERT_TRUE(env->Step(&right, obs).ok());
  EXPECT_EQ(env->running_length(), 1);
  EXPECT_DOUBLE_EQ(env->running_return(), 1.0);
}

TEST(EpisodeStatisticsTest, RefusedStepsCountForNothing) {
  auto env = Wrap("MountainCarContinuous-v0", 0);
  float obs[2];
  env->Reset(obs);
  const float nan = std::nanf("");
  EXPECT_EQ(env->Step(&nan, obs).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env->running_length(), 0);
  EXPECT_EQ(env->running_return(), 0.0);
}

}  // namespace
}  // namespace rill::envs
