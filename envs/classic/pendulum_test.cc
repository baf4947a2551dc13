#include "envs/classic/pendulum.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTol = 1e-6;

std::unique_ptr<Pendulum> MakeStartedPendulum(int max_episode_steps = 0) {
  auto env = Pendulum::Create(max_episode_steps, /*seed=*/7);
  EXPECT_TRUE(env.ok()) << env.status();
  float obs[3];
  (*env)->Reset(obs);
  return std::move(env).value();
}

TEST(PendulumTest, OneStepMatchesHandComputedDynamics) {
  auto env = MakeStartedPendulum();
  env->SetState(/*th=*/1.0, /*thdot=*/0.5);
  const float u = 1.0f;
  float obs[3];
  auto result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // cost = 1.0^2 + 0.1 * 0.5^2 + 0.001 * 1.0^2 = 1 + 0.025 + 0.001 = 1.026
  EXPECT_NEAR(result->reward, -1.026, kTol);
  // sin(1.0) = 0.8414709848
  // newthdot = 0.5 + (3*10/(2*1) * 0.8414709848 + 3/(1*1) * 1.0) * 0.05
  //          = 0.5 + (12.6220647721 + 3) * 0.05 = 0.5 + 0.7811032386
  //          = 1.2811032386   (inside [-8, 8])
  // newth    = 1.0 + 1.2811032386 * 0.05 = 1.0640551619
  // cos(1.0640551619) = 0.4853305292, sin(1.0640551619) = 0.8743307597
  EXPECT_NEAR(obs[0], 0.4853305292, kTol);
  EXPECT_NEAR(obs[1], 0.8743307597, kTol);
  EXPECT_NEAR(obs[2], 1.2811032386, kTol);
  EXPECT_FALSE(result->terminated);
  EXPECT_FALSE(result->truncated);
}

TEST(PendulumTest, TorqueAboveMaxIsClippedInDynamicsAndCost) {
  auto env = MakeStartedPendulum();
  env->SetState(0.0, 0.0);
  const float u = 5.0f;
  float obs[3];
  auto result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // u = clip(5, -2, 2) = 2; cost = 0 + 0 + 0.001 * 2^2 = 0.004 (not 0.025).
  EXPECT_NEAR(result->reward, -0.004, kTol);
  // newthdot = 0 + (15 * sin 0 + 3 * 2) * 0.05 = 0.3 (not 0.75)
  // newth = 0 + 0.3 * 0.05 = 0.015; cos = 0.9998875021, sin = 0.0149994375
  EXPECT_NEAR(obs[0], 0.9998875021, kTol);
  EXPECT_NEAR(obs[1], 0.0149994375, kTol);
  EXPECT_NEAR(obs[2], 0.3, kTol);
}

TEST(PendulumTest, TorqueBelowMinIsClipped) {
  auto env = MakeStartedPendulum();
  env->SetState(0.0, 0.0);
  const float u = -100.0f;
  float obs[3];
  auto result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // u = -2; cost = 0.001 * 4 = 0.004; newthdot = (3 * -2) * 0.05 = -0.3.
  EXPECT_NEAR(result->reward, -0.004, kTol);
  EXPECT_NEAR(obs[2], -0.3, kTol);
}

TEST(PendulumTest, SpeedIsClippedToMaxSpeedBeforeTheAngleUpdate) {
  auto env = MakeStartedPendulum();
  env->SetState(kPi / 2, 7.9);
  const float u = 2.0f;
  float obs[3];
  auto result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // newthdot = 7.9 + (15 * sin(pi/2) + 3 * 2) * 0.05 = 7.9 + 21 * 0.05 = 8.95
  //          -> clip to 8
  // newth = pi/2 + 8 * 0.05 = 1.5707963268 + 0.4 = 1.9707963268
  // cos(1.9707963268) = -0.3894183423, sin(1.9707963268) = 0.9210609940
  EXPECT_NEAR(obs[2], 8.0, kTol);
  EXPECT_NEAR(obs[0], -0.3894183423, kTol);
  EXPECT_NEAR(obs[1], 0.9210609940, kTol);
}

TEST(PendulumTest, NegativeSpeedIsClippedToMinusMaxSpeed) {
  auto env = MakeStartedPendulum();
  env->SetState(-kPi / 2, -7.9);
  const float u = -2.0f;
  float obs[3];
  ASSERT_TRUE(env->Step(&u, obs).ok());

  // newthdot = -7.9 + (15 * -1 + 3 * -2) * 0.05 = -8.95 -> -8
  // newth = -pi/2 - 0.4 = -1.9707963268; sin = -0.9210609940
  EXPECT_NEAR(obs[2], -8.0, kTol);
  EXPECT_NEAR(obs[1], -0.9210609940, kTol);
}

TEST(PendulumTest, CostNormalizesTheAngleIntoMinusPiToPi) {
  auto env = MakeStartedPendulum();
  const float u = 0.0f;
  float obs[3];

  // th = 2pi + 0.5 normalizes to 0.5: cost = 0.5^2 = 0.25
  // (without normalization it would be 6.7831853^2 = 46.0116).
  env->SetState(2 * kPi + 0.5, 0.0);
  auto result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->reward, -0.25, kTol);

  // th = 3pi/2 normalizes to -pi/2: cost = (pi/2)^2 = 2.4674011003
  // (without normalization it would be (3pi/2)^2 = 22.2066).
  env->SetState(1.5 * kPi, 0.0);
  result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->reward, -2.4674011003, kTol);

  // th = -3pi/2 normalizes to +pi/2: cost = 2.4674011003.
  env->SetState(-1.5 * kPi, 0.0);
  result = env->Step(&u, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->reward, -2.4674011003, kTol);
}

TEST(PendulumTest, TruncatesAtStep200WithoutTerminating) {
  auto env = MakeStartedPendulum();
  ASSERT_EQ(env->max_episode_steps(), 200);
  const float u = 0.5f;
  float obs[3];
  for (int step = 1; step < 200; ++step) {
    auto result = env->Step(&u, obs);
    ASSERT_TRUE(result.ok()) << "step " << step << ": " << result.status();
    ASSERT_FALSE(result->terminated) << "step " << step;
    ASSERT_FALSE(result->truncated) << "step " << step;
  }
  auto last = env->Step(&u, obs);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->truncated);
  EXPECT_FALSE(last->terminated);
}

TEST(PendulumTest, StepAfterTruncationWithoutResetFailsPrecondition) {
  auto env = MakeStartedPendulum(/*max_episode_steps=*/2);
  const float u = 0.0f;
  float obs[3];
  ASSERT_TRUE(env->Step(&u, obs).ok());
  ASSERT_TRUE(env->Step(&u, obs)->truncated);
  EXPECT_EQ(env->Step(&u, obs).status().code(),
            absl::StatusCode::kFailedPrecondition);
  env->Reset(obs);
  EXPECT_TRUE(env->Step(&u, obs).ok());
}

TEST(PendulumTest, NanTorqueIsInvalidArgument) {
  auto env = MakeStartedPendulum();
  const float u = std::nanf("");
  float obs[3];
  EXPECT_EQ(env->Step(&u, obs).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PendulumTest, ResetDrawsAngleInMinusPiToPiAndSpeedInMinusOneToOne) {
  auto env = Pendulum::Create(0, /*seed=*/3).value();
  float obs[3];
  double min_th = kPi, max_th = -kPi, min_thdot = 1, max_thdot = -1;
  for (int i = 0; i < 2000; ++i) {
    env->Reset(obs);
    EXPECT_NEAR(obs[0] * obs[0] + obs[1] * obs[1], 1.0, 1e-5);
    const double th = std::atan2(obs[1], obs[0]);
    min_th = std::min(min_th, th);
    max_th = std::max(max_th, th);
    min_thdot = std::min<double>(min_thdot, obs[2]);
    max_thdot = std::max<double>(max_thdot, obs[2]);
  }
  EXPECT_GE(min_thdot, -1.0);
  EXPECT_LE(max_thdot, 1.0);
  // 2000 draws cover each range nearly end to end.
  EXPECT_LT(min_th, -kPi + 0.05);
  EXPECT_GT(max_th, kPi - 0.05);
  EXPECT_LT(min_thdot, -0.95);
  EXPECT_GT(max_thdot, 0.95);
}

TEST(PendulumTest, DescribesAContinuousSpaceWithTorqueBoundTwo) {
  auto env = Pendulum::Create(0, 0).value();
  EXPECT_EQ(env->name(), "Pendulum-v1");
  EXPECT_EQ(env->obs_dim(), 3);
  EXPECT_EQ(env->act_dim(), 1);
  EXPECT_FALSE(env->discrete());
  EXPECT_FLOAT_EQ(env->action_high(), 2.0f);
}

}  // namespace
}  // namespace rill::envs
