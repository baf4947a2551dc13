#include "envs/classic/cartpole_no_velocity.h"

#include <memory>
#include <string>

#include "envs/classic/cartpole.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr float kLeft = 0.0f;
constexpr float kRight = 1.0f;

// The linear controller of cartpole_test.cc, which keeps CartPole up for 500
// steps; it reads the velocities, so only the reference CartPole can run it.
float BalancingAction(const float* obs) {
  const float score =
      0.05f * obs[0] + 0.2f * obs[1] + 1.0f * obs[2] + 0.5f * obs[3];
  return score > 0 ? kRight : kLeft;
}

float AlwaysRight(const float*) { return kRight; }

// Steps a CartPole and a CartPoleNoVelocity made with `seed` through
// `episodes` episodes, both given the action `policy` picks from the
// CartPole's observation, and expects every observation to be the
// CartPole's [x, theta] and every reward and episode end to be the same.
// Returns the length of the last episode.
int ExpectSameEpisodes(uint64_t seed, int episodes,
                       float (*policy)(const float*)) {
  auto cartpole = CartPole::Create(0, seed).value();
  auto hidden = CartPoleNoVelocity::Create(0, seed).value();
  float full[4];
  float obs[2];
  int length = 0;
  for (int e = 0; e < episodes; ++e) {
    cartpole->Reset(full);
    hidden->Reset(obs);
    EXPECT_THAT(obs, ElementsAre(full[0], full[2])) << "episode " << e;
    for (length = 1;; ++length) {
      const float action = policy(full);
      auto expected = cartpole->Step(&action, full);
      auto result = hidden->Step(&action, obs);
      EXPECT_TRUE(expected.ok() && result.ok()) << "step " << length;
      if (!expected.ok() || !result.ok()) return -1;
      EXPECT_THAT(obs, ElementsAre(full[0], full[2]))
          << "episode " << e << " step " << length;
      EXPECT_EQ(result->reward, expected->reward) << "step " << length;
      EXPECT_EQ(result->terminated, expected->terminated) << "step " << length;
      EXPECT_EQ(result->truncated, expected->truncated) << "step " << length;
      if (expected->terminated || expected->truncated) break;
    }
  }
  return length;
}

TEST(CartPoleNoVelocityTest, ObservesCartPolesPositionAndAngleThroughBalancedEpisodes) {
  EXPECT_EQ(ExpectSameEpisodes(/*seed=*/11, /*episodes=*/3, &BalancingAction),
            500);
}

TEST(CartPoleNoVelocityTest, ObservesCartPolesPositionAndAngleUntilThePoleFalls) {
  const int length =
      ExpectSameEpisodes(/*seed=*/42, /*episodes=*/5, &AlwaysRight);
  EXPECT_GT(length, 1);
  EXPECT_LT(length, 500);
}

TEST(CartPoleNoVelocityTest, DescribesTwoObservationsAndCartPolesActions) {
  auto env = CartPoleNoVelocity::Create(0, 0).value();
  EXPECT_EQ(env->name(), "CartPoleNoVelocity-v1");
  EXPECT_EQ(env->obs_dim(), 2);
  EXPECT_THAT(env->spec().observation_shape, ElementsAre(2));
  EXPECT_EQ(env->act_dim(), 2);
  EXPECT_TRUE(env->discrete());
  EXPECT_EQ(env->max_episode_steps(), 500);
  EXPECT_EQ(CartPoleNoVelocity::Spec().max_episode_steps, 500);
}

TEST(CartPoleNoVelocityTest, ExplicitTimeLimitTruncatesThere) {
  auto env = CartPoleNoVelocity::Create(/*max_episode_steps=*/3, 1).value();
  EXPECT_EQ(env->max_episode_steps(), 3);
  float obs[2];
  env->Reset(obs);
  for (int step = 1; step <= 3; ++step) {
    const float action = step % 2;
    auto result = env->Step(&action, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->truncated, step == 3) << "step " << step;
  }
  EXPECT_EQ(CartPoleNoVelocity::Create(-1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CartPoleNoVelocityTest, BadActionIsInvalidArgumentNamingThisEnv) {
  auto env = CartPoleNoVelocity::Create(0, 1).value();
  float obs[2];
  env->Reset(obs);
  const float before[2] = {obs[0], obs[1]};
  const float bad = 2.0f;
  absl::StatusOr<StepResult> result = env->Step(&bad, obs);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("CartPoleNoVelocity-v1"));
  EXPECT_THAT(obs, ElementsAre(before[0], before[1]));
}

TEST(CartPoleNoVelocityTest, StepBeforeFirstResetFailsPrecondition) {
  auto env = CartPoleNoVelocity::Create(0, 1).value();
  float obs[2];
  EXPECT_EQ(env->Step(&kRight, obs).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rill::envs
