#include "envs/classic/mountain_car_continuous.h"

#include <cmath>
#include <memory>

#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kTol = 1e-6;

std::unique_ptr<MountainCarContinuous> MakeStarted(int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = MountainCarContinuous::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  float obs[2];
  (*env)->Reset(obs);
  return std::move(env).value();
}

TEST(MountainCarContinuousTest, OneStepMatchesHandComputedDynamics) {
  auto env = MakeStarted();
  env->SetState(-0.5, 0.01);
  const float a = 0.5f;
  float obs[2];
  auto result = env->Step(&a, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  // velocity = 0.01 + 0.5 * 0.0015 - 0.0025 cos(-1.5)
  //          = 0.01 + 0.00075 - 0.0001768430 = 0.0105731570
  // position = -0.5 + 0.0105731570 = -0.4894268430
  // reward = -0.1 * 0.5^2 = -0.025
  EXPECT_NEAR(obs[0], -0.4894268430, kTol);
  EXPECT_NEAR(obs[1], 0.0105731570, kTol);
  EXPECT_NEAR(result->reward, -0.025, 1e-7);
  EXPECT_FALSE(result->terminated);
}

TEST(MountainCarContinuousTest, ThrottleIsClippedInTheDynamicsButNotInTheCost) {
  auto env = MakeStarted();
  env->SetState(-0.5, 0.0);
  const float a = 3.0f;
  float obs[2];
  auto result = env->Step(&a, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  // force = clip(3, -1, 1) = 1: velocity = 0.0015 - 0.0001768430 = 0.0013231570
  EXPECT_NEAR(obs[1], 0.0013231570, kTol);
  // cost on the raw action: 0.1 * 3^2 = 0.9.
  EXPECT_NEAR(result->reward, -0.9, 1e-6);
}

TEST(MountainCarContinuousTest, ReachingTheGoalPaysOneHundredMinusTheActionCost) {
  auto env = MakeStarted();
  // velocity = 0.03 + 0.0015 - 0.0025 cos(1.32) = 0.0315 - 0.000620 = 0.030880
  // position = 0.44 + 0.030880 = 0.470880 >= 0.45.
  env->SetState(0.44, 0.03);
  const float a = 1.0f;
  float obs[2];
  auto result = env->Step(&a, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
  EXPECT_NEAR(result->reward, 100.0 - 0.1, 1e-4);
}

TEST(MountainCarContinuousTest, StateIsStoredAsFloatAfterEachStep) {
  auto env = MakeStarted();
  env->SetState(-0.5, 0.0);
  const float a = 0.3f;
  float obs[2];
  ASSERT_TRUE(env->Step(&a, obs).ok());
  // The next step starts from the float values, as Gymnasium's float32
  // state does: reproduce it from the observation alone.
  const double position = obs[0], velocity = obs[1];
  ASSERT_TRUE(env->Step(&a, obs).ok());
  const double v = velocity + static_cast<double>(a) * 0.0015 - 0.0025 * std::cos(3 * position);
  EXPECT_EQ(obs[1], static_cast<float>(v));
  EXPECT_EQ(obs[0], static_cast<float>(position + v));
}

TEST(MountainCarContinuousTest, LeftWallStopsTheCar) {
  auto env = MakeStarted();
  env->SetState(-1.19, -0.05);
  const float a = -1.0f;
  float obs[2];
  ASSERT_TRUE(env->Step(&a, obs).ok());
  EXPECT_FLOAT_EQ(obs[0], -1.2f);
  EXPECT_FLOAT_EQ(obs[1], 0.0f);
}

TEST(MountainCarContinuousTest, TruncatesAtStep999) {
  auto env = MakeStarted();
  ASSERT_EQ(env->max_episode_steps(), 999);
  const float a = 0.0f;
  float obs[2];
  for (int step = 1; step < 999; ++step) {
    auto result = env->Step(&a, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated || result->truncated) << "step " << step;
  }
  auto last = env->Step(&a, obs);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->truncated);
  EXPECT_FALSE(last->terminated);
}

TEST(MountainCarContinuousTest, NanThrottleIsRefusedAndLeavesTheEpisodeUnchanged) {
  auto env = MakeStarted(/*max_episode_steps=*/1);
  env->SetState(-0.5, 0.0);
  const float nan = std::nanf("");
  float obs[2] = {7, 7};
  auto result = env->Step(&nan, obs);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(obs[0], 7.0f);
  // The refused step did not count: the one allowed step still runs, from
  // the state set above.
  const float zero = 0.0f;
  auto next = env->Step(&zero, obs);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->truncated);
  EXPECT_NEAR(obs[1], -0.0025 * std::cos(-1.5), kTol);
}

TEST(MountainCarContinuousTest, EqualSeedsGiveEqualEpisodes) {
  auto a = MountainCarContinuous::Create(0, 4).value();
  auto b = MountainCarContinuous::Create(0, 4).value();
  float oa[2], ob[2];
  a->Reset(oa);
  b->Reset(ob);
  ASSERT_EQ(oa[0], ob[0]);
  for (int step = 0; step < 100; ++step) {
    const float u = std::sin(0.1f * step);
    ASSERT_TRUE(a->Step(&u, oa).ok());
    ASSERT_TRUE(b->Step(&u, ob).ok());
    ASSERT_EQ(oa[0], ob[0]);
    ASSERT_EQ(oa[1], ob[1]);
  }
}

TEST(MountainCarContinuousTest, DescribesOneThrottleInMinusOneToOne) {
  const EnvSpec spec = MountainCarContinuous::Spec();
  EXPECT_EQ(spec.name, "MountainCarContinuous-v0");
  EXPECT_EQ(spec.obs_dim(), 2);
  EXPECT_FALSE(spec.discrete);
  ASSERT_EQ(spec.action_dim(), 1);
  EXPECT_EQ(spec.action_low[0], -1.0f);
  EXPECT_EQ(spec.action_high[0], 1.0f);
  EXPECT_EQ(spec.max_episode_steps, 999);
}

}  // namespace
}  // namespace rill::envs
