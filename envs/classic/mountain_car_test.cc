#include "envs/classic/mountain_car.h"

#include <cmath>
#include <memory>

#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kTol = 1e-7;
constexpr float kLeft = 0.0f;
constexpr float kCoast = 1.0f;
constexpr float kRight = 2.0f;

std::unique_ptr<MountainCar> MakeStartedMountainCar(int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = MountainCar::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  float obs[2];
  (*env)->Reset(obs);
  return std::move(env).value();
}

TEST(MountainCarTest, OneStepMatchesHandComputedDynamics) {
  auto env = MakeStartedMountainCar();
  env->SetState(-0.5, 0.01);
  float obs[2];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  // cos(3 * -0.5) = cos(-1.5) = 0.0707372017
  // velocity = 0.01 + (2 - 1) * 0.001 - 0.0025 * 0.0707372017 = 0.0108231570
  // position = -0.5 + 0.0108231570 = -0.4891768430
  EXPECT_NEAR(obs[0], -0.4891768430, kTol);
  EXPECT_NEAR(obs[1], 0.0108231570, kTol);
  EXPECT_FLOAT_EQ(result->reward, -1.0f);
  EXPECT_FALSE(result->terminated);
  EXPECT_FALSE(result->truncated);
}

TEST(MountainCarTest, FixedSeedRolloutMatchesTheFormulas) {
  auto env = MountainCar::Create(0, /*seed=*/3).value();
  float obs[2];
  env->Reset(obs);
  double position = obs[0], velocity = 0;
  ASSERT_GE(position, -0.6);
  ASSERT_LT(position, -0.4);
  ASSERT_EQ(obs[1], 0.0f);
  // Start both from the float the observation shows.
  env->SetState(position, velocity);
  for (int step = 0; step < 150; ++step) {
    // Push with the velocity (the energy-pumping policy), coast every 7th.
    const float action = step % 7 == 6 ? kCoast : (velocity >= 0 ? kRight : kLeft);
    auto result = env->Step(&action, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    velocity += (action - 1) * 0.001 - 0.0025 * std::cos(3 * position);
    velocity = std::fmin(0.07, std::fmax(-0.07, velocity));
    position = std::fmin(0.6, std::fmax(-1.2, position + velocity));
    if (position == -1.2 && velocity < 0) velocity = 0;
    ASSERT_EQ(obs[0], static_cast<float>(position)) << "step " << step;
    ASSERT_EQ(obs[1], static_cast<float>(velocity)) << "step " << step;
    const bool goal = position >= 0.5 && velocity >= 0;
    ASSERT_EQ(result->terminated, goal) << "step " << step;
    ASSERT_FLOAT_EQ(result->reward, -1.0f);
    if (goal) return;
  }
  FAIL() << "the energy-pumping policy should reach the flag within 150 steps";
}

TEST(MountainCarTest, VelocityIsClippedToMaxSpeed) {
  auto env = MakeStartedMountainCar();
  // velocity = 0.0695 + 0.001 - 0.0025 cos(0) = 0.068 (inside): use a steeper
  // spot where gravity pushes right: cos(3 * -1.0) = -0.9899924966.
  env->SetState(-1.0, 0.0695);
  float obs[2];
  ASSERT_TRUE(env->Step(&kRight, obs).ok());
  // 0.0695 + 0.001 + 0.0024749812 = 0.0729749812 -> clipped to 0.07.
  EXPECT_NEAR(obs[1], 0.07, kTol);
  EXPECT_NEAR(obs[0], -0.93, kTol);
}

TEST(MountainCarTest, LeftWallStopsTheCar) {
  auto env = MakeStartedMountainCar();
  env->SetState(-1.19, -0.05);
  float obs[2];
  ASSERT_TRUE(env->Step(&kLeft, obs).ok());
  // position = -1.19 - 0.05... < -1.2 -> clipped to -1.2; velocity zeroed.
  EXPECT_FLOAT_EQ(obs[0], -1.2f);
  EXPECT_FLOAT_EQ(obs[1], 0.0f);
}

TEST(MountainCarTest, TerminatesAtTheFlagMovingRightWithRewardMinusOne) {
  auto env = MakeStartedMountainCar();
  // cos(1.47) = 0.1006257; velocity = 0.04 + 0.001 - 0.000251564 = 0.040748;
  // position = 0.49 + 0.040748 = 0.530748 >= 0.5.
  env->SetState(0.49, 0.04);
  float obs[2];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
  EXPECT_FLOAT_EQ(result->reward, -1.0f);
}

TEST(MountainCarTest, DoesNotTerminatePastTheFlagWhenMovingLeft) {
  auto env = MakeStartedMountainCar();
  // velocity = -0.001 - 0.001 - 0.0025 cos(1.68) = -0.002 + 0.0002724 < 0 at
  // position 0.558.
  env->SetState(0.56, -0.001);
  float obs[2];
  auto result = env->Step(&kLeft, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(obs[0], 0.5f);
  EXPECT_LT(obs[1], 0.0f);
  EXPECT_FALSE(result->terminated);
}

TEST(MountainCarTest, TruncatesAtStep200) {
  auto env = MakeStartedMountainCar();
  ASSERT_EQ(env->max_episode_steps(), 200);
  float obs[2];
  for (int step = 1; step < 200; ++step) {
    auto result = env->Step(&kCoast, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated || result->truncated) << "step " << step;
  }
  auto last = env->Step(&kCoast, obs);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->truncated);
  EXPECT_FALSE(last->terminated);
}

TEST(MountainCarTest, InvalidActionsAreRefusedAndLeaveTheEpisodeUnchanged) {
  auto env = MakeStartedMountainCar();
  env->SetState(-0.5, 0.0);
  float obs[2] = {7, 7};
  for (float bad : {std::nanf(""), 3.0f, -1.0f, 1.5f}) {
    EXPECT_EQ(env->Step(&bad, obs).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(obs[0], 7.0f);
  // The next valid step starts from the state set above.
  ASSERT_TRUE(env->Step(&kCoast, obs).ok());
  EXPECT_NEAR(obs[1], -0.0025 * std::cos(-1.5), kTol);
}

TEST(MountainCarTest, ResetDrawsPositionInItsRangeAndEqualSeedsAgree) {
  auto a = MountainCar::Create(0, 9).value();
  auto b = MountainCar::Create(0, 9).value();
  float oa[2], ob[2];
  for (int i = 0; i < 100; ++i) {
    a->Reset(oa);
    b->Reset(ob);
    ASSERT_EQ(oa[0], ob[0]);
    ASSERT_GE(oa[0], -0.6f);
    ASSERT_LE(oa[0], -0.4f);
    ASSERT_EQ(oa[1], 0.0f);
  }
}

TEST(MountainCarTest, DescribesTwoObservationsAndThreeActions) {
  const EnvSpec spec = MountainCar::Spec();
  EXPECT_EQ(spec.name, "MountainCar-v0");
  EXPECT_EQ(spec.obs_dim(), 2);
  EXPECT_TRUE(spec.discrete);
  EXPECT_EQ(spec.num_actions, 3);
  EXPECT_EQ(spec.max_episode_steps, 200);
}

}  // namespace
}  // namespace rill::envs
