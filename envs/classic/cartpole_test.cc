#include "envs/classic/cartpole.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kTol = 1e-6;
constexpr float kLeft = 0.0f;
constexpr float kRight = 1.0f;

std::unique_ptr<CartPole> MakeStartedCartPole(int max_episode_steps = 0,
                                              uint64_t seed = 7) {
  auto env = CartPole::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  float obs[4];
  (*env)->Reset(obs);
  return std::move(env).value();
}

// A linear bang-bang controller that keeps the pole up and the cart near the
// middle from any Reset state (checked offline over many starts).
float BalancingAction(const float* obs) {
  const float score =
      0.05f * obs[0] + 0.2f * obs[1] + 1.0f * obs[2] + 0.5f * obs[3];
  return score > 0 ? kRight : kLeft;
}

TEST(CartPoleTest, OneStepFromRestMatchesHandComputedDynamics) {
  auto env = MakeStartedCartPole();
  env->SetState(0.0, 0.0, 0.0, 0.0);
  float obs[4];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // force = +10, sin 0 = 0, cos 0 = 1, total_mass = 1.1, polemass_length 0.05
  // temp     = (10 + 0.05 * 0^2 * 0) / 1.1 = 9.0909090909
  // thetaacc = (9.8 * 0 - 1 * 9.0909090909) / (0.5 * (4/3 - 0.1 * 1 / 1.1))
  //          = -9.0909090909 / (0.5 * 1.2424242424) = -9.0909090909 / 0.6212121212
  //          = -14.6341463415
  // xacc     = 9.0909090909 - 0.05 * -14.6341463415 * 1 / 1.1
  //          = 9.0909090909 + 0.6651884701 = 9.7560975610
  // x = 0 + 0.02 * 0 = 0;          x_dot = 0 + 0.02 * 9.7560975610 = 0.1951219512
  // theta = 0 + 0.02 * 0 = 0;  theta_dot = 0 + 0.02 * -14.6341463415 = -0.2926829268
  EXPECT_NEAR(obs[0], 0.0, kTol);
  EXPECT_NEAR(obs[1], 0.1951219512, kTol);
  EXPECT_NEAR(obs[2], 0.0, kTol);
  EXPECT_NEAR(obs[3], -0.2926829268, kTol);
  EXPECT_FLOAT_EQ(result->reward, 1.0f);
  EXPECT_FALSE(result->terminated);
  EXPECT_FALSE(result->truncated);
}

TEST(CartPoleTest, OneStepFromMovingStateMatchesHandComputedDynamics) {
  auto env = MakeStartedCartPole();
  env->SetState(/*x=*/0.1, /*x_dot=*/-0.2, /*theta=*/0.05, /*theta_dot=*/0.3);
  float obs[4];
  auto result = env->Step(&kLeft, obs);
  ASSERT_TRUE(result.ok()) << result.status();

  // force = -10; sin 0.05 = 0.0499791693, cos 0.05 = 0.9987502604
  // temp = (-10 + 0.05 * 0.3^2 * 0.0499791693) / 1.1
  //      = (-10 + 0.0002249063) / 1.1 = -9.9997750937 / 1.1 = -9.0907046307
  // numerator   = 9.8 * 0.0499791693 - 0.9987502604 * -9.0907046307
  //             = 0.4897958589 + 9.0793436171 = 9.5691394759
  // denominator = 0.5 * (4/3 - 0.1 * 0.9987502604^2 / 1.1)
  //             = 0.5 * (1.3333333333 - 0.0906820075) = 0.6213256629
  // thetaacc = 9.5691394759 / 0.6213256629 = 15.4011656803
  // xacc = -9.0907046307 - 0.05 * 15.4011656803 * 0.9987502604 / 1.1
  //      = -9.0907046307 - 0.6991781015 = -9.7898827322
  // x         = 0.1 + 0.02 * -0.2 = 0.096
  // x_dot     = -0.2 + 0.02 * -9.7898827322 = -0.3957976546
  // theta     = 0.05 + 0.02 * 0.3 = 0.056
  // theta_dot = 0.3 + 0.02 * 15.4011656803 = 0.6080233136
  EXPECT_NEAR(obs[0], 0.096, kTol);
  EXPECT_NEAR(obs[1], -0.3957976546, kTol);
  EXPECT_NEAR(obs[2], 0.056, kTol);
  EXPECT_NEAR(obs[3], 0.6080233136, kTol);
  EXPECT_FLOAT_EQ(result->reward, 1.0f);
}

TEST(CartPoleTest, TerminatesWithRewardOneWhenCartPassesRightEdge) {
  auto env = MakeStartedCartPole();
  // x = 2.39 + 0.02 * 1.0 = 2.41 > 2.4
  env->SetState(2.39, 1.0, 0.0, 0.0);
  float obs[4];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
  EXPECT_FLOAT_EQ(result->reward, 1.0f);
  EXPECT_NEAR(obs[0], 2.41, kTol);  // The real terminal observation.
}

TEST(CartPoleTest, TerminatesWhenCartPassesLeftEdge) {
  auto env = MakeStartedCartPole();
  // x = -2.39 + 0.02 * -1.0 = -2.41 < -2.4
  env->SetState(-2.39, -1.0, 0.0, 0.0);
  float obs[4];
  auto result = env->Step(&kLeft, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FLOAT_EQ(result->reward, 1.0f);
}

TEST(CartPoleTest, DoesNotTerminateJustInsideTheEdge) {
  auto env = MakeStartedCartPole();
  // x = 2.38 + 0.02 * 0.5 = 2.39 <= 2.4
  env->SetState(2.38, 0.5, 0.0, 0.0);
  float obs[4];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->terminated);
}

TEST(CartPoleTest, TerminatesWhenPolePassesTwelveDegrees) {
  // 12 degrees = 12 * 2 * pi / 360 = 0.2094395102 rad.
  auto env = MakeStartedCartPole();
  float obs[4];
  // theta = 0.2 + 0.02 * 1.0 = 0.22 > 0.2094
  env->SetState(0.0, 0.0, 0.2, 1.0);
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FLOAT_EQ(result->reward, 1.0f);

  // theta = -0.2 + 0.02 * -1.0 = -0.22 < -0.2094
  env->Reset(obs);
  env->SetState(0.0, 0.0, -0.2, -1.0);
  result = env->Step(&kLeft, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);

  // theta = 0.2 + 0.02 * 0.4 = 0.208 < 0.2094: still alive.
  env->Reset(obs);
  env->SetState(0.0, 0.0, 0.2, 0.4);
  result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->terminated);
}

TEST(CartPoleTest, TruncatesAtStep500WhenBalanced) {
  auto env = CartPole::Create(0, /*seed=*/11).value();
  ASSERT_EQ(env->max_episode_steps(), 500);
  float obs[4];
  env->Reset(obs);
  for (int step = 1; step < 500; ++step) {
    const float action = BalancingAction(obs);
    auto result = env->Step(&action, obs);
    ASSERT_TRUE(result.ok()) << "step " << step << ": " << result.status();
    ASSERT_FALSE(result->terminated) << "step " << step;
    ASSERT_FALSE(result->truncated) << "step " << step;
  }
  const float action = BalancingAction(obs);
  auto last = env->Step(&action, obs);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->truncated);
  EXPECT_FALSE(last->terminated);
  EXPECT_FLOAT_EQ(last->reward, 1.0f);
}

TEST(CartPoleTest, TerminationOnTheLastAllowedStepIsNotTruncation) {
  auto env = MakeStartedCartPole(/*max_episode_steps=*/1);
  env->SetState(2.39, 1.0, 0.0, 0.0);
  float obs[4];
  auto result = env->Step(&kRight, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
}

TEST(CartPoleTest, OutOfRangeOrFractionalActionIsInvalidArgument) {
  auto env = MakeStartedCartPole();
  float obs[4];
  for (float bad : {-1.0f, 2.0f, 0.5f, std::nanf("")}) {
    EXPECT_EQ(env->Step(&bad, obs).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "action " << bad;
  }
  // A rejected action is not counted: the episode goes on.
  EXPECT_TRUE(env->Step(&kRight, obs).ok());
}

TEST(CartPoleTest, StepAfterTerminationWithoutResetFailsPrecondition) {
  auto env = MakeStartedCartPole();
  env->SetState(2.39, 1.0, 0.0, 0.0);
  float obs[4];
  ASSERT_TRUE(env->Step(&kRight, obs)->terminated);
  EXPECT_EQ(env->Step(&kRight, obs).status().code(),
            absl::StatusCode::kFailedPrecondition);
  env->Reset(obs);
  EXPECT_TRUE(env->Step(&kRight, obs).ok());
}

TEST(CartPoleTest, StepBeforeFirstResetFailsPrecondition) {
  auto env = CartPole::Create(0, 1).value();
  float obs[4];
  EXPECT_EQ(env->Step(&kRight, obs).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(CartPoleTest, ResetDrawsEveryStateVariableInMinusToPlusFiveHundredths) {
  auto env = CartPole::Create(0, /*seed=*/5).value();
  float obs[4];
  std::vector<float> lo(4, 1.0f), hi(4, -1.0f);
  for (int i = 0; i < 1000; ++i) {
    env->Reset(obs);
    for (int d = 0; d < 4; ++d) {
      lo[d] = std::min(lo[d], obs[d]);
      hi[d] = std::max(hi[d], obs[d]);
    }
  }
  for (int d = 0; d < 4; ++d) {
    EXPECT_GE(lo[d], -0.05f) << "dim " << d;
    EXPECT_LE(hi[d], 0.05f) << "dim " << d;
    // 1000 draws cover each range nearly end to end.
    EXPECT_LT(lo[d], -0.045f) << "dim " << d;
    EXPECT_GT(hi[d], 0.045f) << "dim " << d;
  }
}

// Runs `episodes` episodes of fixed alternating actions and returns every
// observation seen.
std::vector<float> RunEpisodes(uint64_t seed, int episodes) {
  auto env = CartPole::Create(0, seed).value();
  std::vector<float> seen;
  float obs[4];
  for (int e = 0; e < episodes; ++e) {
    env->Reset(obs);
    seen.insert(seen.end(), obs, obs + 4);
    for (int t = 0;; ++t) {
      const float action = t % 2 == 0 ? kRight : kLeft;
      auto result = env->Step(&action, obs);
      EXPECT_TRUE(result.ok()) << result.status();
      seen.insert(seen.end(), obs, obs + 4);
      if (!result.ok() || result->terminated || result->truncated) break;
    }
  }
  return seen;
}

TEST(CartPoleTest, SameSeedGivesTheSameEpisodes) {
  EXPECT_EQ(RunEpisodes(42, 3), RunEpisodes(42, 3));
}

TEST(CartPoleTest, DifferentSeedsGiveDifferentEpisodes) {
  EXPECT_NE(RunEpisodes(42, 3), RunEpisodes(43, 3));
}

TEST(CartPoleTest, DescribesADiscreteSpaceWithTwoActions) {
  auto env = CartPole::Create(0, 0).value();
  EXPECT_EQ(env->name(), "CartPole-v1");
  EXPECT_EQ(env->obs_dim(), 4);
  EXPECT_EQ(env->act_dim(), 2);
  EXPECT_TRUE(env->discrete());
  EXPECT_EQ(env->action_high(), 0.0f);
}

}  // namespace
}  // namespace rill::envs
