#include "envs/particle/predator_prey.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs::particle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kAgents = PredatorPrey::kNumAgents;
constexpr int kPrey = 3;  // the prey's row
constexpr int kMaxObs = PredatorPrey::kPredatorObsDim;
constexpr double kTol = 1e-5;

// Per-agent buffers for Reset and Step, as an EnvBatch's rows would be;
// each row as long as the longest observation (the prey uses 14 of 16).
struct Buffers {
  std::array<std::array<float, kMaxObs>, kAgents> obs{};
  std::array<float, kAgents> action{};
  std::array<StepResult, kAgents> results{};

  float* const* obs_rows() {
    for (int k = 0; k < kAgents; ++k) obs_ptrs[k] = obs[k].data();
    return obs_ptrs.data();
  }
  const float* const* action_rows() {
    for (int k = 0; k < kAgents; ++k) action_ptrs[k] = &action[k];
    return action_ptrs.data();
  }

  std::array<float*, kAgents> obs_ptrs{};
  std::array<const float*, kAgents> action_ptrs{};
};

std::unique_ptr<PredatorPrey> MakeStarted(Buffers& buffers, int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = PredatorPrey::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  (*env)->Reset(buffers.obs_rows());
  return std::move(env).value();
}

// Actions of the three predators, then the prey.
absl::Status StepWith(PredatorPrey& env, Buffers& buffers, std::array<float, kAgents> actions) {
  buffers.action = actions;
  return env.Step(buffers.action_rows(), buffers.obs_rows(), buffers.results.data());
}

std::vector<float> StateOf(const PredatorPrey& env) {
  std::vector<float> state(PredatorPrey::kStateDim);
  env.State(state.data());
  return state;
}

TEST(PredatorPreyTest, SpecHasThreePredatorsOfSixteenFloatsThenAPreyOfFourteen) {
  const MultiAgentSpec spec = PredatorPrey::Spec();
  EXPECT_EQ(spec.name, "PredatorPrey-v0");
  EXPECT_THAT(spec.agents, ElementsAre("adversary_0", "adversary_1", "adversary_2", "agent_0"));
  ASSERT_EQ(spec.agent_specs.size(), 4u);
  for (int k = 0; k < kAgents; ++k) {
    const EnvSpec& agent = spec.agent_specs[k];
    EXPECT_EQ(agent.name, "PredatorPrey-v0");
    EXPECT_EQ(agent.obs_dim(), k < 3 ? 16 : 14) << "agent " << k;
    EXPECT_EQ(agent.observation_type, ObservationType::kFloat32);
    EXPECT_TRUE(agent.discrete);
    EXPECT_EQ(agent.num_actions, 5);
    EXPECT_EQ(agent.max_episode_steps, 25);
  }
  EXPECT_FALSE(spec.homogeneous());
  EXPECT_EQ(spec.state_dim(), 20);
  EXPECT_EQ(spec.max_episode_steps, 25);
}

TEST(PredatorPreyTest, CreateTakesZeroAsTwentyFiveAndRefusesANegativeLimit) {
  EXPECT_EQ(PredatorPrey::Create(0, 1).value()->max_episode_steps(), 25);
  auto seven = PredatorPrey::Create(7, 1).value();
  EXPECT_EQ(seven->max_episode_steps(), 7);
  EXPECT_EQ(seven->spec().agent_specs[3].max_episode_steps, 7);
  EXPECT_EQ(PredatorPrey::Create(-1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PredatorPreyTest, ResetDrawsAgentsInTheUnitSquareAtRestAndObstaclesWithinPointNine) {
  Buffers buffers;
  auto env = PredatorPrey::Create(0, 3).value();
  EXPECT_TRUE(env->episode_over());
  for (int episode = 0; episode < 50; ++episode) {
    env->Reset(buffers.obs_rows());
    const std::vector<float> state = StateOf(*env);
    for (int k = 0; k < kAgents; ++k) {
      EXPECT_TRUE(env->live(k));
      EXPECT_LE(std::abs(state[4 * k]), 1.0f);
      EXPECT_LE(std::abs(state[4 * k + 1]), 1.0f);
      EXPECT_EQ(state[4 * k + 2], 0.0f);
      EXPECT_EQ(state[4 * k + 3], 0.0f);
    }
    for (int i = 4 * kAgents; i < PredatorPrey::kStateDim; ++i) EXPECT_LE(std::abs(state[i]), 0.9f) << i;
  }
}

TEST(PredatorPreyTest, ObservationLaysOutVelocityPositionObstaclesOthersThenThePreysVelocity) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.5, 0.5}, {-0.5, 0.2}, {0.1, -0.7}, {-0.6, -0.6}}, {{0, 0.6}, {0.8, -0.2}}).ok());
  // Predator 0 left (force 3: v = -0.3, p += -0.03), the prey right (force
  // 4: v = 0.4, p += 0.04); nothing touches. Predator 0 at (0.47, 0.5),
  // the prey at (-0.56, -0.6).
  ASSERT_TRUE(StepWith(*env, buffers, {1, 0, 0, 2}).ok());

  // Predator 1 at (-0.5, 0.2), at rest: obstacles (0.5, 0.4), (1.3, -0.4);
  // others: predator 0 (0.97, 0.3), predator 2 (0.6, -0.9), the prey
  // (-0.06, -0.8); the prey's velocity (0.4, 0).
  const std::vector<float> expected1 = {0,    0,   -0.5, 0.2,  0.5,   0.4,  1.3, -0.4,
                                        0.97, 0.3, 0.6,  -0.9, -0.06, -0.8, 0.4, 0};
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(buffers.obs[1][i], expected1[i], kTol) << "predator 1, obs[" << i << "]";
  // The prey: velocity (0.4, 0), position (-0.56, -0.6); obstacles
  // (0.56, 1.2), (1.36, 0.4); predators (1.03, 1.1), (0.06, 0.8),
  // (0.66, -0.1); no prey velocity after them.
  const std::vector<float> expected_prey = {0.4, 0,    -0.56, -0.6, 0.56, 1.2,  1.36,
                                            0.4, 1.03, 1.1,   0.06, 0.8,  0.66, -0.1};
  for (int i = 0; i < 14; ++i) EXPECT_NEAR(buffers.obs[kPrey][i], expected_prey[i], kTol) << "prey, obs[" << i << "]";
  // Predator 0's own velocity and position.
  EXPECT_NEAR(buffers.obs[0][0], -0.3, kTol);
  EXPECT_NEAR(buffers.obs[0][2], 0.47, kTol);
}

TEST(PredatorPreyTest, EveryPredatorGetsTenPerTouchAndThePreyLosesTenPerTouch) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // Predators 0 and 1 overlap the prey from either side (0.1 apart, radii
  // 0.075 + 0.05). Each contact pushes with 100 * 0.025 = 2.5, less than a
  // predator's move inwards (3): they close in by 0.005 and the prey, pushed
  // equally from both sides, stays. Predator 2 is far away.
  ASSERT_TRUE(env->SetPositions({{0.1, 0}, {-0.1, 0}, {0.5, 0.5}, {0, 0}}, {{-0.6, 0.6}, {0.6, -0.6}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {/*left*/ 1, /*right*/ 2, 0, 0}).ok());
  EXPECT_EQ(env->PreyTouches(), 2);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(buffers.results[k].reward, 20, kTol) << "predator " << k;
  // Inside the arena: no boundary penalty.
  EXPECT_NEAR(buffers.results[kPrey].reward, -20, kTol);
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_FALSE(buffers.results[k].terminated);
    EXPECT_FALSE(buffers.results[k].truncated);
  }
}

// The rewards of one no-op step with the prey placed at rest at `prey`,
// far from the predators and the obstacles.
std::array<float, kAgents> RewardsWithPreyAt(Vec2 prey) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  EXPECT_TRUE(env->SetPositions({{-0.6, 0.3}, {-0.3, 0.3}, {0, 0.3}, prey}, {{-0.5, -0.4}, {0.2, -0.2}}).ok());
  EXPECT_TRUE(StepWith(*env, buffers, {0, 0, 0, 0}).ok());
  EXPECT_EQ(env->PreyTouches(), 0);
  return {buffers.results[0].reward, buffers.results[1].reward, buffers.results[2].reward,
          buffers.results[kPrey].reward};
}

TEST(PredatorPreyTest, PreyPaysNoBoundaryPenaltyWithinPointNine) {
  EXPECT_THAT(RewardsWithPreyAt({0.5, -0.85}), ElementsAre(0, 0, 0, 0));
}

TEST(PredatorPreyTest, PreyPaysALinearBoundaryPenaltyBetweenPointNineAndOne) {
  // x: (0.95 - 0.9) * 10 = 0.5; y: (0.92 - 0.9) * 10 = 0.2.
  const std::array<float, kAgents> rewards = RewardsWithPreyAt({0.95, -0.92});
  EXPECT_EQ(rewards[0], 0);
  EXPECT_NEAR(rewards[kPrey], -0.7, kTol);
}

TEST(PredatorPreyTest, PreyPaysAnExponentialBoundaryPenaltyCappedAtTenOutsideTheArena) {
  // x: exp(2 * 1.2 - 2) = exp(0.4) = 1.4918247; y: exp(2 * 1.5 - 2) = e =
  // 2.7182818.
  EXPECT_NEAR(RewardsWithPreyAt({1.2, -1.5})[kPrey], -(1.4918247 + 2.7182818), kTol);
  // x: exp(4) = 54.6 capped at 10; y: 0.
  EXPECT_NEAR(RewardsWithPreyAt({3, 0.5})[kPrey], -10, kTol);
}

TEST(PredatorPreyTest, PredatorsAndThePreyNeverExceedTheirMaxSpeed) {
  Buffers buffers;
  auto env = MakeStarted(buffers, /*max_episode_steps=*/100);
  // Rows far apart, obstacles out of the way; everyone pushes right. Unclipped,
  // a predator would tend to 0.3 / 0.25 = 1.2 and the prey to 1.6.
  ASSERT_TRUE(env->SetPositions({{-3, 0}, {-3, 1}, {-3, 2}, {-3, 3}}, {{0, -5}, {0, 5}}).ok());
  for (int step = 0; step < 40; ++step) {
    ASSERT_TRUE(StepWith(*env, buffers, {2, 2, 2, 2}).ok());
    for (int k = 0; k < kAgents; ++k) {
      const double max_speed = k < 3 ? 1.0 : 1.3;
      EXPECT_LE(std::hypot(buffers.obs[k][0], buffers.obs[k][1]), max_speed + 1e-6) << "step " << step << ", " << k;
    }
  }
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(buffers.obs[k][0], 1.0, kTol) << "predator " << k;
  EXPECT_NEAR(buffers.obs[kPrey][0], 1.3, kTol);
}

// The continuous twin (MPE's continuous actions): every agent acts with a
// control in [-1, 1]^2. A control of one axis at full force steps exactly
// as the discrete move along it; a fraction of it is that fraction of the
// force; a control past the Box is clipped to it; NaN is refused by name.
TEST(PredatorPreyTest, ContinuousTwinActsWithAFractionOfTheForceOnEachAxis) {
  const MultiAgentSpec spec = ContinuousActions<PredatorPrey>::Spec();
  EXPECT_EQ(spec.name, "PredatorPreyContinuous-v0");
  ASSERT_EQ(spec.num_agents(), kAgents);
  for (int k = 0; k < kAgents; ++k) {
    const EnvSpec& agent = spec.agent_specs[k];
    EXPECT_FALSE(agent.discrete) << k;
    EXPECT_THAT(agent.action_low, ElementsAre(-1, -1));
    EXPECT_THAT(agent.action_high, ElementsAre(1, 1));
    EXPECT_EQ(agent.obs_dim(), PredatorPrey::Spec().agent_specs[k].obs_dim());
  }

  Buffers discrete_buffers;
  auto discrete = MakeStarted(discrete_buffers, 0, /*seed=*/3);
  absl::StatusOr<std::unique_ptr<PredatorPrey>> made = ContinuousActions<PredatorPrey>::Create(0, /*seed=*/3);
  ASSERT_TRUE(made.ok()) << made.status();
  PredatorPrey& continuous = **made;
  EXPECT_EQ(continuous.name(), "PredatorPreyContinuous-v0");
  Buffers buffers;
  continuous.Reset(buffers.obs_rows());
  // Far apart, obstacles out of the way: no contact forces.
  const std::vector<Vec2> apart = {{-3, 0}, {-1, 0}, {1, 0}, {3, 0}}, away = {{0, -5}, {0, 5}};
  ASSERT_TRUE(discrete->SetPositions(apart, away).ok());
  ASSERT_TRUE(continuous.SetPositions(apart, away).ok());
  std::array<std::array<float, 2>, kAgents> controls = {{{1, 0}, {-7, 0}, {0, 1}, {0, 0}}};
  std::array<const float*, kAgents> rows{};
  for (int k = 0; k < kAgents; ++k) rows[k] = controls[k].data();
  for (int step = 0; step < 3; ++step) {
    // Right, left (clipped from -7), up, no-op.
    ASSERT_TRUE(StepWith(*discrete, discrete_buffers, {2, 1, 4, 0}).ok());
    ASSERT_TRUE(continuous.Step(rows.data(), buffers.obs_rows(), buffers.results.data()).ok());
    EXPECT_EQ(StateOf(continuous), StateOf(*discrete)) << "step " << step;
  }

  // Half the force along x from rest: half the velocity after one step.
  continuous.Reset(buffers.obs_rows());
  ASSERT_TRUE(continuous.SetPositions(apart, away).ok());
  controls = {{{0.5f, 0}, {0, -0.25f}, {0, 0}, {0, 0}}};
  ASSERT_TRUE(continuous.Step(rows.data(), buffers.obs_rows(), buffers.results.data()).ok());
  discrete->Reset(discrete_buffers.obs_rows());
  ASSERT_TRUE(discrete->SetPositions(apart, away).ok());
  ASSERT_TRUE(StepWith(*discrete, discrete_buffers, {2, 3, 0, 0}).ok());
  EXPECT_GT(discrete_buffers.obs[0][0], 0);
  EXPECT_NEAR(buffers.obs[0][0], 0.5 * discrete_buffers.obs[0][0], kTol);
  EXPECT_NEAR(buffers.obs[1][1], 0.25 * discrete_buffers.obs[1][1], kTol);

  controls[kPrey][1] = std::nanf("");
  const absl::Status nan = continuous.Step(rows.data(), buffers.obs_rows(), buffers.results.data());
  EXPECT_THAT(std::string(nan.message()), HasSubstr("agent agent_0's action[1] is NaN"));
}

TEST(PredatorPreyTest, StateListsAgentsPositionAndVelocityThenObstacles) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.5, 0.5}, {-0.5, 0.2}, {0.1, -0.7}, {-0.6, -0.6}}, {{0, 0.6}, {0.8, -0.2}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {1, 0, 4, 2}).ok());
  const std::vector<float> expected = {0.47, 0.5, -0.3,  0,    -0.5, 0.2, 0, 0,   0.1, -0.67,
                                       0,    0.3, -0.56, -0.6, 0.4,  0,   0, 0.6, 0.8, -0.2};
  const std::vector<float> state = StateOf(*env);
  ASSERT_EQ(state.size(), expected.size());
  for (size_t i = 0; i < state.size(); ++i) EXPECT_NEAR(state[i], expected[i], kTol) << "state[" << i << "]";
}

TEST(PredatorPreyTest, EveryAgentIsTruncatedTogetherAtStepTwentyFive) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  for (int step = 1; step < 25; ++step) {
    ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3, 4}).ok()) << "step " << step;
    for (int k = 0; k < kAgents; ++k) {
      ASSERT_FALSE(buffers.results[k].truncated) << "step " << step << ", agent " << k;
      ASSERT_FALSE(buffers.results[k].terminated) << "step " << step << ", agent " << k;
      ASSERT_TRUE(env->live(k));
    }
  }
  ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3, 4}).ok());
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_TRUE(buffers.results[k].truncated) << "agent " << k;
    EXPECT_FALSE(buffers.results[k].terminated) << "agent " << k;
    EXPECT_FALSE(env->live(k));
  }
  EXPECT_TRUE(env->episode_over());
  EXPECT_EQ(StepWith(*env, buffers, {0, 0, 0, 0}).code(), absl::StatusCode::kFailedPrecondition);

  env->Reset(buffers.obs_rows());
  EXPECT_TRUE(StepWith(*env, buffers, {0, 0, 0, 0}).ok());
  EXPECT_FALSE(buffers.results[kPrey].truncated);
}

TEST(PredatorPreyTest, StepBeforeResetFailsPrecondition) {
  Buffers buffers;
  auto env = PredatorPrey::Create(0, 1).value();
  EXPECT_EQ(StepWith(*env, buffers, {0, 0, 0, 0}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PredatorPreyTest, BadActionIsInvalidArgumentNamingTheAgentAndChangesNothing) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<float> before = StateOf(*env);
  for (float bad : {5.0f, 1.5f, std::nanf(""), -1.0f}) {
    const absl::Status prey = StepWith(*env, buffers, {0, 0, 0, bad});
    EXPECT_EQ(prey.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(prey.message()), HasSubstr("agent_0")) << bad;
    const absl::Status predator = StepWith(*env, buffers, {0, 0, bad, 0});
    EXPECT_EQ(predator.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(predator.message()), HasSubstr("adversary_2")) << bad;
    EXPECT_EQ(StateOf(*env), before) << bad;
  }
  EXPECT_EQ(env->elapsed_steps(), 0);
}

// Twenty-five steps of a fixed action sequence from a fresh env of `seed`:
// every observation and reward, in order.
std::vector<float> Episode(uint64_t seed) {
  Buffers buffers;
  auto env = MakeStarted(buffers, 0, seed);
  std::vector<float> trace;
  for (int k = 0; k < kAgents; ++k) trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
  for (int step = 0; step < 25; ++step) {
    const std::array<float, kAgents> actions = {static_cast<float>(step % 5), static_cast<float>((step + 2) % 5),
                                                static_cast<float>((3 * step) % 5), static_cast<float>((step + 4) % 5)};
    EXPECT_TRUE(StepWith(*env, buffers, actions).ok());
    for (int k = 0; k < kAgents; ++k) {
      trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
      trace.push_back(buffers.results[k].reward);
    }
  }
  return trace;
}

TEST(PredatorPreyTest, SameSeedGivesTheSameEpisodeAndOtherSeedsDiffer) {
  EXPECT_EQ(Episode(11), Episode(11));
  EXPECT_NE(Episode(11), Episode(12));
}

TEST(PredatorPreyTest, RendersPredatorsPreyAndObstaclesDeterministicallyWithoutChangingTheState) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  EXPECT_THAT(env->cameras(), ElementsAre("default"));
  EXPECT_EQ(env->render_fps(), 10);
  // 60x60 over [-1.5, 1.5]^2: 20 pixels a unit; pixel (col, row) has its
  // centre at (-1.5 + (col + 0.5) / 20, 1.5 - (row + 0.5) / 20). Predator 0
  // sits on pixel (40, 20)'s centre, the prey on (20, 39)'s, obstacle 0
  // covers (30, 30)'s.
  const std::vector<Vec2> agents = {{0.525, 0.475}, {-1, 1}, {1, 1}, {-0.475, -0.475}};
  const std::vector<Vec2> obstacles = {{0, 0}, {1, -1}};
  ASSERT_TRUE(env->SetPositions(agents, obstacles).ok());
  const std::vector<float> state = StateOf(*env);

  std::vector<uint8_t> first(60 * 60 * 3), second(60 * 60 * 3);
  ASSERT_TRUE(env->Render(60, 60, "default", first.data()).ok());
  ASSERT_TRUE(env->Render(60, 60, "default", second.data()).ok());
  EXPECT_EQ(first, second);
  EXPECT_EQ(StateOf(*env), state);

  auto pixel = [&](int col, int row) {
    const uint8_t* p = &first[(row * 60 + col) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(pixel(40, 20), (std::vector<int>{217, 89, 89}));  // predator 0
  EXPECT_EQ(pixel(20, 39), (std::vector<int>{89, 217, 89}));  // the prey
  EXPECT_EQ(pixel(30, 30), (std::vector<int>{64, 64, 64}));   // obstacle 0
  EXPECT_EQ(pixel(0, 59), (std::vector<int>{255, 255, 255}));

  // Rendering did not disturb the episode: the next step is a twin's.
  Buffers twin_buffers;
  auto twin = MakeStarted(twin_buffers);
  ASSERT_TRUE(twin->SetPositions(agents, obstacles).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3, 4}).ok());
  ASSERT_TRUE(StepWith(*twin, twin_buffers, {1, 2, 3, 4}).ok());
  EXPECT_EQ(buffers.obs, twin_buffers.obs);
  EXPECT_EQ(StateOf(*env), StateOf(*twin));
}

TEST(PredatorPreyTest, RenderRefusesAnUnknownCamera) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  std::vector<uint8_t> rgb(8 * 8 * 3);
  EXPECT_EQ(env->Render(8, 8, "top", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PredatorPreyTest, SetPositionsRefusesTheWrongNumberOfEntities) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<float> before = StateOf(*env);
  EXPECT_EQ(env->SetPositions({{0, 0}, {1, 1}, {2, 2}}, {{0, 0}, {1, 1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StateOf(*env), before);
}

// The scripted players: a predator heads for the prey; the prey flees the
// predators, and turns back toward the centre once past 0.7 with more
// force than far predators push it out with. Both action kinds.
TEST(PredatorPreyTest, ScriptedPredatorsHeadForThePreyAndTheScriptedPreyFleesInsideTheArena) {
  for (const ParticleActions actions : {ParticleActions::kDiscrete, ParticleActions::kContinuous}) {
    const bool discrete = actions == ParticleActions::kDiscrete;
    auto made = PredatorPrey::Create(0, 7, actions);
    ASSERT_TRUE(made.ok()) << made.status();
    PredatorPrey& env = **made;
    std::array<std::array<float, kMaxObs>, kAgents> obs{};
    std::array<float*, kAgents> rows{};
    for (int k = 0; k < kAgents; ++k) rows[k] = obs[k].data();
    env.Reset(rows.data());
    // Predator 0 right of the prey, predator 1 above it, predator 2 far
    // below-left; the prey at (0.2, 0.1), near predators 0 and 1.
    ASSERT_TRUE(env.SetPositions({{0.5, 0.1}, {0.2, 0.45}, {-0.9, -0.9}, {0.2, 0.1}}, {{0, 0.9}, {0.9, 0.9}}).ok());
    std::array<float, 2> step_zero = {0, 0};
    std::array<const float*, kAgents> still{};
    for (int k = 0; k < kAgents; ++k) still[k] = step_zero.data();
    std::array<StepResult, kAgents> results{};
    // A no-op step writes the placed state's observations.
    ASSERT_TRUE(env.Step(still.data(), rows.data(), results.data()).ok());

    std::array<float, 2> action = {-7, -7};
    ASSERT_TRUE(env.ScriptedAction(0, obs[0].data(), action.data()));
    if (discrete) {
      EXPECT_EQ(action[0], 1.f) << "predator 0 moves left, toward the prey";
    } else {
      EXPECT_NEAR(action[0], -1.f, kTol);
      EXPECT_NEAR(action[1], 0.f, kTol);
    }
    ASSERT_TRUE(env.ScriptedAction(1, obs[1].data(), action.data()));
    if (discrete) EXPECT_EQ(action[0], 3.f) << "predator 1 moves down, toward the prey";
    ASSERT_TRUE(env.ScriptedAction(3, obs[3].data(), action.data()));
    if (discrete) {
      EXPECT_THAT(action[0], ::testing::AnyOf(1.f, 3.f)) << "away from predators right of and above it";
    } else {
      // Away from (0.3, 0) and (0, 0.35), less from the far predator:
      // down-left, a unit push.
      EXPECT_LT(action[0], 0.f);
      EXPECT_LT(action[1], 0.f);
      EXPECT_NEAR(std::hypot(action[0], action[1]), 1.0, kTol);
    }

    // The prey at (0.95, 0) with every predator far to its left: the pull
    // back (30 x 0.25) outweighs their push out (about 0.5 each).
    ASSERT_TRUE(env.SetPositions({{-0.9, -0.9}, {-0.9, 0.9}, {-0.95, 0}, {0.95, 0}}, {{0, 0.9}, {0.9, 0.9}}).ok());
    ASSERT_TRUE(env.Step(still.data(), rows.data(), results.data()).ok());
    ASSERT_TRUE(env.ScriptedAction(3, obs[3].data(), action.data()));
    if (discrete) {
      EXPECT_EQ(action[0], 1.f) << "back left, into the arena";
    } else {
      EXPECT_LT(action[0], -0.99f);
    }
    EXPECT_FALSE(env.ScriptedAction(kAgents, obs[0].data(), action.data())) << "no such agent";
  }
}

}  // namespace
}  // namespace rill::envs::particle
