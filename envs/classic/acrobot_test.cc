#include "envs/classic/acrobot.h"

#include <array>
#include <cmath>
#include <memory>

#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr float kTorqueMinus = 0.0f;
constexpr float kTorqueZero = 1.0f;
constexpr float kTorquePlus = 2.0f;

using State = Acrobot::State;

std::unique_ptr<Acrobot> MakeStartedAcrobot(int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = Acrobot::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  float obs[6];
  (*env)->Reset(obs);
  return std::move(env).value();
}

// The book's equations written as the manipulator equation M(q) qdd = b and
// solved by Cramer's rule, an independent route to Acrobot::Derivatives:
//   M = [[d1, d2], [d2, m2 lc2^2 + I2]]
//   b = [-phi1, torque - m2 l1 lc2 thdot1^2 sin th2 - phi2]
// with m1 = m2 = l1 = I1 = I2 = 1, lc1 = lc2 = 0.5, g = 9.8.
State ReferenceDerivatives(const State& s, double torque) {
  const double g = 9.8;
  const double th1 = s[0], th2 = s[1], w1 = s[2], w2 = s[3];
  const double d1 = 0.25 + (1.0 + 0.25 + std::cos(th2)) + 2.0;
  const double d2 = (0.25 + 0.5 * std::cos(th2)) + 1.0;
  const double d22 = 0.25 + 1.0;
  // cos(x - pi/2) = sin(x).
  const double phi2 = 0.5 * g * std::sin(th1 + th2);
  const double phi1 = -0.5 * w2 * w2 * std::sin(th2) - w2 * w1 * std::sin(th2) + 1.5 * g * std::sin(th1) + phi2;
  const double b1 = -phi1;
  const double b2 = torque - 0.5 * w1 * w1 * std::sin(th2) - phi2;
  const double det = d1 * d22 - d2 * d2;
  return {w1, w2, (b1 * d22 - d2 * b2) / det, (d1 * b2 - d2 * b1) / det};
}

// One classic Runge-Kutta step of ReferenceDerivatives over 0.2 s, then the
// wrapping and clipping Gymnasium applies.
State ReferenceStep(const State& s, double torque) {
  auto axpy = [](const State& x, double a, const State& y) {
    return State{x[0] + a * y[0], x[1] + a * y[1], x[2] + a * y[2], x[3] + a * y[3]};
  };
  const double h = 0.2;
  const State k1 = ReferenceDerivatives(s, torque);
  const State k2 = ReferenceDerivatives(axpy(s, h / 2, k1), torque);
  const State k3 = ReferenceDerivatives(axpy(s, h / 2, k2), torque);
  const State k4 = ReferenceDerivatives(axpy(s, h, k3), torque);
  State n;
  for (int i = 0; i < 4; ++i) n[i] = s[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  for (int i = 0; i < 2; ++i) {
    while (n[i] > kPi) n[i] -= 2 * kPi;
    while (n[i] < -kPi) n[i] += 2 * kPi;
  }
  n[2] = std::fmax(-4 * kPi, std::fmin(4 * kPi, n[2]));
  n[3] = std::fmax(-9 * kPi, std::fmin(9 * kPi, n[3]));
  return n;
}

TEST(AcrobotTest, DerivativesMatchTheManipulatorEquationSolvedDirectly) {
  const State states[] = {{0.3, -0.7, 1.1, -2.0}, {2.5, 1.0, -3.0, 4.0}, {-1.0, 3.0, 0.0, 0.5}};
  for (const State& s : states) {
    for (double torque : {-1.0, 0.0, 1.0}) {
      const State got = Acrobot::Derivatives(s, torque);
      const State want = ReferenceDerivatives(s, torque);
      for (int i = 0; i < 4; ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "component " << i << " torque " << torque;
    }
  }
}

TEST(AcrobotTest, HangingStillWithoutTorqueStaysAtRest) {
  auto env = MakeStartedAcrobot();
  env->SetState({0, 0, 0, 0});
  float obs[6];
  auto result = env->Step(&kTorqueZero, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  // Every force term is a sine of zero (up to cos(-pi/2) = 6e-17 in
  // floating point): the pendulum does not move.
  EXPECT_NEAR(obs[0], 1.0f, 1e-12);
  EXPECT_NEAR(obs[1], 0.0f, 1e-12);
  EXPECT_NEAR(obs[2], 1.0f, 1e-12);
  EXPECT_NEAR(obs[3], 0.0f, 1e-12);
  EXPECT_NEAR(obs[4], 0.0f, 1e-12);
  EXPECT_NEAR(obs[5], 0.0f, 1e-12);
  EXPECT_FLOAT_EQ(result->reward, -1.0f);
  EXPECT_FALSE(result->terminated);
}

TEST(AcrobotTest, PositiveTorqueFromRestTurnsTheSecondLinkForwardAndTheFirstBack) {
  auto env = MakeStartedAcrobot();
  env->SetState({0, 0, 0, 0});
  float obs[6];
  ASSERT_TRUE(env->Step(&kTorquePlus, obs).ok());
  // At rest d1 = 0.25 + (1 + 0.25 + 1) + 2 = 4.5, d2 = 0.25 + 0.5 + 1 = 1.75,
  // every phi is 0, so M = [[4.5, 1.75], [1.75, 1.25]], b = [0, 1]:
  // qdd = [-1.75, 4.5] / (4.5 * 1.25 - 1.75^2) = [-0.6829268293, 1.7560975610].
  const State first = Acrobot::Derivatives({0, 0, 0, 0}, 1.0);
  EXPECT_NEAR(first[2], -0.6829268293, 1e-9);
  EXPECT_NEAR(first[3], 1.7560975610, 1e-9);
  EXPECT_LT(obs[4], 0.0f);
  EXPECT_GT(obs[5], 0.0f);
}

TEST(AcrobotTest, FixedSeedRolloutMatchesTheReferenceIntegration) {
  auto env = Acrobot::Create(0, /*seed=*/42).value();
  float obs[6];
  env->Reset(obs);
  State reference = env->state();
  // The reset state was drawn in U(-0.1, 0.1) and rounded to float.
  for (double v : reference) {
    EXPECT_GE(v, -0.1);
    EXPECT_LT(v, 0.1);
    EXPECT_EQ(v, static_cast<double>(static_cast<float>(v)));
  }
  const float actions[] = {kTorquePlus, kTorquePlus, kTorqueMinus, kTorqueZero, kTorquePlus, kTorqueMinus};
  for (int step = 0; step < 60; ++step) {
    const float action = actions[step % 6];
    auto result = env->Step(&action, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    reference = ReferenceStep(reference, action - 1.0);
    for (int i = 0; i < 4; ++i) ASSERT_NEAR(env->state()[i], reference[i], 1e-9) << "step " << step << " i " << i;
    EXPECT_NEAR(obs[0], std::cos(reference[0]), 1e-6);
    EXPECT_NEAR(obs[1], std::sin(reference[0]), 1e-6);
    EXPECT_NEAR(obs[2], std::cos(reference[1]), 1e-6);
    EXPECT_NEAR(obs[3], std::sin(reference[1]), 1e-6);
    EXPECT_NEAR(obs[4], reference[2], 1e-5);
    EXPECT_NEAR(obs[5], reference[3], 1e-5);
    const bool goal = -std::cos(reference[0]) - std::cos(reference[0] + reference[1]) > 1.0;
    ASSERT_EQ(result->terminated, goal);
    ASSERT_FLOAT_EQ(result->reward, goal ? 0.0f : -1.0f);
    if (goal) break;
  }
}

TEST(AcrobotTest, AnglesAreWrappedIntoMinusPiToPi) {
  auto env = MakeStartedAcrobot();
  // Both links spinning fast near th = +pi: the angles pass pi in one step.
  env->SetState({3.1, -3.1, 3.0, -3.0});
  float obs[6];
  ASSERT_TRUE(env->Step(&kTorqueZero, obs).ok());
  const State s = env->state();
  EXPECT_GE(s[0], -kPi);
  EXPECT_LE(s[0], kPi);
  EXPECT_GE(s[1], -kPi);
  EXPECT_LE(s[1], kPi);
  const State reference = ReferenceStep({3.1, -3.1, 3.0, -3.0}, 0.0);
  EXPECT_NEAR(s[0], reference[0], 1e-9);
  EXPECT_NEAR(s[1], reference[1], 1e-9);
  EXPECT_LT(s[0], 0);  // Crossed +pi, came back near -pi.
  EXPECT_GT(s[1], 0);  // Crossed -pi, came back near +pi.
}

TEST(AcrobotTest, VelocitiesAreClippedToFourPiAndNinePi) {
  auto env = MakeStartedAcrobot();
  env->SetState({0, 0, 20.0, -40.0});
  float obs[6];
  ASSERT_TRUE(env->Step(&kTorqueZero, obs).ok());
  const State reference = ReferenceStep({0, 0, 20.0, -40.0}, 0.0);
  EXPECT_NEAR(env->state()[2], reference[2], 1e-9);
  EXPECT_NEAR(env->state()[3], reference[3], 1e-9);
  EXPECT_LE(std::fabs(env->state()[2]), 4 * kPi);
  EXPECT_LE(std::fabs(env->state()[3]), 9 * kPi);
}

TEST(AcrobotTest, TerminatesWithRewardZeroWhenTheTipIsAboveTheLine) {
  auto env = MakeStartedAcrobot();
  // Both links straight up: -cos(pi) - cos(pi) = 2 > 1.
  env->SetState({kPi - 0.01, 0, 0, 0});
  float obs[6];
  auto result = env->Step(&kTorqueZero, obs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
  EXPECT_FLOAT_EQ(result->reward, 0.0f);
  EXPECT_EQ(env->Step(&kTorqueZero, obs).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(AcrobotTest, TruncatesAtStep500WhenHangingStill) {
  auto env = MakeStartedAcrobot();
  ASSERT_EQ(env->max_episode_steps(), 500);
  env->SetState({0, 0, 0, 0});
  float obs[6];
  for (int step = 1; step < 500; ++step) {
    auto result = env->Step(&kTorqueZero, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated || result->truncated) << "step " << step;
  }
  auto last = env->Step(&kTorqueZero, obs);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->truncated);
  EXPECT_FALSE(last->terminated);
}

TEST(AcrobotTest, InvalidActionsAreRefusedAndLeaveTheEpisodeUnchanged) {
  auto env = MakeStartedAcrobot(/*max_episode_steps=*/3);
  const State before = env->state();
  float obs[6];
  for (float bad : {std::nanf(""), 3.0f, -1.0f, 0.5f}) {
    auto result = env->Step(&bad, obs);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(env->state(), before);
  // None of the refused steps counted toward the limit of 3.
  ASSERT_FALSE(env->Step(&kTorqueZero, obs)->truncated);
  ASSERT_FALSE(env->Step(&kTorqueZero, obs)->truncated);
  EXPECT_TRUE(env->Step(&kTorqueZero, obs)->truncated);
}

TEST(AcrobotTest, EqualSeedsGiveEqualEpisodes) {
  auto a = Acrobot::Create(0, 5).value();
  auto b = Acrobot::Create(0, 5).value();
  auto c = Acrobot::Create(0, 6).value();
  float oa[6], ob[6], oc[6];
  a->Reset(oa);
  b->Reset(ob);
  c->Reset(oc);
  EXPECT_EQ(a->state(), b->state());
  EXPECT_NE(a->state(), c->state());
  for (int step = 0; step < 50; ++step) {
    const float action = static_cast<float>(step % 3);
    ASSERT_TRUE(a->Step(&action, oa).ok());
    ASSERT_TRUE(b->Step(&action, ob).ok());
    for (int i = 0; i < 6; ++i) ASSERT_EQ(oa[i], ob[i]);
  }
}

TEST(AcrobotTest, DescribesSixObservationsAndThreeActions) {
  const EnvSpec spec = Acrobot::Spec();
  EXPECT_EQ(spec.name, "Acrobot-v1");
  EXPECT_EQ(spec.obs_dim(), 6);
  EXPECT_TRUE(spec.discrete);
  EXPECT_EQ(spec.num_actions, 3);
  EXPECT_EQ(spec.max_episode_steps, 500);
}

}  // namespace
}  // namespace rill::envs
