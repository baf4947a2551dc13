#include "envs/particle/cooperative_navigation.h"

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

constexpr int kAgents = CooperativeNavigation::kNumAgents;
constexpr int kObs = CooperativeNavigation::kObsDim;
constexpr double kTol = 1e-5;

// Per-agent buffers for Reset and Step, as an EnvBatch's rows would be.
struct Buffers {
  std::array<std::array<float, kObs>, kAgents> obs{};
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
  void SetActions(float a0, float a1, float a2) { action = {a0, a1, a2}; }

  std::array<float*, kAgents> obs_ptrs{};
  std::array<const float*, kAgents> action_ptrs{};
};

std::unique_ptr<CooperativeNavigation> MakeStarted(Buffers& buffers, int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = CooperativeNavigation::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  (*env)->Reset(buffers.obs_rows());
  return std::move(env).value();
}

absl::Status StepWith(CooperativeNavigation& env, Buffers& buffers, float a0, float a1, float a2) {
  buffers.SetActions(a0, a1, a2);
  return env.Step(buffers.action_rows(), buffers.obs_rows(), buffers.results.data());
}

std::vector<float> StateOf(const CooperativeNavigation& env) {
  std::vector<float> state(CooperativeNavigation::kStateDim);
  env.State(state.data());
  return state;
}

TEST(CooperativeNavigationTest, SpecHasThreeAgentsOfEighteenFloatsAndFiveActions) {
  const MultiAgentSpec spec = CooperativeNavigation::Spec();
  EXPECT_EQ(spec.name, "CooperativeNavigation-v0");
  EXPECT_THAT(spec.agents, ElementsAre("agent_0", "agent_1", "agent_2"));
  ASSERT_EQ(spec.agent_specs.size(), 3u);
  for (const EnvSpec& agent : spec.agent_specs) {
    EXPECT_EQ(agent.name, "CooperativeNavigation-v0");
    EXPECT_EQ(agent.obs_dim(), 18);
    EXPECT_EQ(agent.observation_type, ObservationType::kFloat32);
    EXPECT_TRUE(agent.discrete);
    EXPECT_EQ(agent.num_actions, 5);
    EXPECT_EQ(agent.max_episode_steps, 25);
  }
  EXPECT_TRUE(spec.homogeneous());
  EXPECT_EQ(spec.state_dim(), 18);
  EXPECT_EQ(spec.max_episode_steps, 25);
}

TEST(CooperativeNavigationTest, CreateTakesZeroAsTwentyFiveAndRefusesANegativeLimit) {
  EXPECT_EQ(CooperativeNavigation::Create(0, 1).value()->max_episode_steps(), 25);
  auto seven = CooperativeNavigation::Create(7, 1).value();
  EXPECT_EQ(seven->max_episode_steps(), 7);
  EXPECT_EQ(seven->spec().agent_specs[2].max_episode_steps, 7);
  EXPECT_EQ(CooperativeNavigation::Create(-1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CooperativeNavigationTest, ResetDrawsPositionsInTheUnitSquareAtRest) {
  Buffers buffers;
  auto env = CooperativeNavigation::Create(0, 3).value();
  EXPECT_TRUE(env->episode_over());
  for (int episode = 0; episode < 50; ++episode) {
    env->Reset(buffers.obs_rows());
    for (int k = 0; k < kAgents; ++k) {
      EXPECT_TRUE(env->live(k));
      const std::array<float, kObs>& obs = buffers.obs[k];
      EXPECT_EQ(obs[0], 0.0f);
      EXPECT_EQ(obs[1], 0.0f);
      EXPECT_LE(std::abs(obs[2]), 1.0f);
      EXPECT_LE(std::abs(obs[3]), 1.0f);
      for (int j = 0; j < 3; ++j) {
        // landmark = own position + relative position
        EXPECT_LE(std::abs(obs[2] + obs[4 + 2 * j]), 1.0f + 1e-6f);
        EXPECT_LE(std::abs(obs[3] + obs[5 + 2 * j]), 1.0f + 1e-6f);
      }
    }
  }
}

TEST(CooperativeNavigationTest, ObservationLaysOutVelocityPositionLandmarksOthersAndSilence) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.5, 0.5}, {-0.5, 0.2}, {0.1, -0.7}}, {{0, 0}, {0.9, -0.9}, {-0.3, 0.6}}).ok());
  // No-ops from rest, the agents far apart (over 1 unit): nothing moves.
  ASSERT_TRUE(StepWith(*env, buffers, 0, 0, 0).ok());

  // Agent 1 at (-0.5, 0.2):
  //   landmarks relative: (0.5, -0.2), (1.4, -1.1), (0.2, 0.4)
  //   others: agent 0 (1.0, 0.3), agent 2 (0.6, -0.9)
  const std::vector<float> expected1 = {0,   0,   -0.5, 0.2, 0.5,  -0.2, 1.4, -1.1, 0.2,
                                        0.4, 1.0, 0.3,  0.6, -0.9, 0,    0,   0,    0};
  // Agent 2 at (0.1, -0.7): landmarks (-0.1, 0.7), (0.8, -0.2), (-0.4, 1.3);
  // others: agent 0 (0.4, 1.2), agent 1 (-0.6, 0.9).
  const std::vector<float> expected2 = {0,   0,   0.1, -0.7, -0.1, 0.7, 0.8, -0.2, -0.4,
                                        1.3, 0.4, 1.2, -0.6, 0.9,  0,   0,   0,    0};
  for (int i = 0; i < kObs; ++i) {
    EXPECT_NEAR(buffers.obs[1][i], expected1[i], kTol) << "agent 1, obs[" << i << "]";
    EXPECT_NEAR(buffers.obs[2][i], expected2[i], kTol) << "agent 2, obs[" << i << "]";
  }
}

TEST(CooperativeNavigationTest, ActionsMoveLeftRightDownAndUpWithForceFive) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{-0.6, 0}, {0, 0}, {0.6, 0}}, {{0, 1}, {1, 1}, {-1, 1}}).ok());

  // From rest, force 5 along the move: v = 5 * 0.1 = 0.5, p += 0.05.
  ASSERT_TRUE(StepWith(*env, buffers, /*left*/ 1, /*right*/ 2, /*down*/ 3).ok());
  EXPECT_NEAR(buffers.obs[0][0], -0.5, kTol);
  EXPECT_NEAR(buffers.obs[0][1], 0.0, kTol);
  EXPECT_NEAR(buffers.obs[0][2], -0.65, kTol);
  EXPECT_NEAR(buffers.obs[1][0], 0.5, kTol);
  EXPECT_NEAR(buffers.obs[1][2], 0.05, kTol);
  EXPECT_NEAR(buffers.obs[2][0], 0.0, kTol);
  EXPECT_NEAR(buffers.obs[2][1], -0.5, kTol);
  EXPECT_NEAR(buffers.obs[2][3], -0.05, kTol);

  // Up from agent 2's (0, -0.5): v = (0, -0.375 + 0.5) = (0, 0.125).
  ASSERT_TRUE(StepWith(*env, buffers, 0, 0, /*up*/ 4).ok());
  EXPECT_NEAR(buffers.obs[2][1], 0.125, kTol);
  EXPECT_NEAR(buffers.obs[2][3], -0.0375, kTol);
}

TEST(CooperativeNavigationTest, RewardIsMinusCoverageDistanceMinusOnePerCollision) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // Agent 0 between agents 1 and 2, each 0.25 from it (radii 0.15: both
  // overlap it by 0.05; 1 and 2 are 0.5 apart). The contact force of an
  // overlap of 0.05 is 100 * 0.001 * softplus(50) = 5, what a move's
  // control gives: 1 moving left and 2 moving right hold everyone still.
  ASSERT_TRUE(env->SetPositions({{0, 0}, {0.25, 0}, {-0.25, 0}}, {{0, 0.5}, {1, 0}, {-1, -1}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, 0, /*left*/ 1, /*right*/ 2).ok());

  // Nearest agent of each landmark: (0, 0.5) -> agent 0, 0.5;
  // (1, 0) -> agent 1, 0.75; (-1, -1) -> agent 2, |(0.75, 1)| = 1.25.
  // Shared term: -(0.5 + 0.75 + 1.25) = -2.5.
  EXPECT_NEAR(buffers.results[0].reward, -2.5 - 2, kTol);
  EXPECT_NEAR(buffers.results[1].reward, -2.5 - 1, kTol);
  EXPECT_NEAR(buffers.results[2].reward, -2.5 - 1, kTol);
  EXPECT_NEAR(env->MeanLandmarkDistance(), 2.5 / 3, kTol);
  EXPECT_EQ(env->Collisions(), 2);
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_FALSE(buffers.results[k].terminated);
    EXPECT_FALSE(buffers.results[k].truncated);
  }
}

TEST(CooperativeNavigationTest, RewardIsTakenOnTheStateAfterTheStep) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // Agents 0 and 1 overlap (0.2 apart) and are pushed apart to 0.4: no
  // collision after the step.
  ASSERT_TRUE(env->SetPositions({{-0.1, 0}, {0.1, 0}, {1, 1}}, {{-0.2, 0}, {0.2, 0}, {1, 1}}).ok());
  EXPECT_EQ(env->Collisions(), 1);
  ASSERT_TRUE(StepWith(*env, buffers, 0, 0, 0).ok());
  EXPECT_EQ(env->Collisions(), 0);
  // Agents now at (-0.2, 0), (0.2, 0), (1, 1): every landmark covered.
  for (int k = 0; k < kAgents; ++k) EXPECT_NEAR(buffers.results[k].reward, 0.0, kTol) << "agent " << k;
  EXPECT_NEAR(env->MeanLandmarkDistance(), 0.0, kTol);
}

TEST(CooperativeNavigationTest, StateListsAgentsPositionAndVelocityThenLandmarks) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{-0.6, 0}, {0, 0}, {0.6, 0}}, {{0, 1}, {1, 1}, {-1, 1}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, 2, 0, 4).ok());
  const std::vector<float> expected = {-0.55, 0, 0.5, 0, 0, 0, 0, 0, 0.6, 0.05, 0, 0.5, 0, 1, 1, 1, -1, 1};
  const std::vector<float> state = StateOf(*env);
  ASSERT_EQ(state.size(), expected.size());
  for (size_t i = 0; i < state.size(); ++i) EXPECT_NEAR(state[i], expected[i], kTol) << "state[" << i << "]";
}

TEST(CooperativeNavigationTest, EveryAgentIsTruncatedTogetherAtStepTwentyFive) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  for (int step = 1; step < 25; ++step) {
    ASSERT_TRUE(StepWith(*env, buffers, 1, 2, 3).ok()) << "step " << step;
    for (int k = 0; k < kAgents; ++k) {
      ASSERT_FALSE(buffers.results[k].truncated) << "step " << step << ", agent " << k;
      ASSERT_FALSE(buffers.results[k].terminated) << "step " << step << ", agent " << k;
      ASSERT_TRUE(env->live(k));
    }
  }
  ASSERT_TRUE(StepWith(*env, buffers, 1, 2, 3).ok());
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_TRUE(buffers.results[k].truncated) << "agent " << k;
    EXPECT_FALSE(buffers.results[k].terminated) << "agent " << k;
    EXPECT_FALSE(env->live(k));
  }
  EXPECT_TRUE(env->episode_over());

  const absl::Status after = StepWith(*env, buffers, 0, 0, 0);
  EXPECT_EQ(after.code(), absl::StatusCode::kFailedPrecondition);

  env->Reset(buffers.obs_rows());
  EXPECT_TRUE(StepWith(*env, buffers, 0, 0, 0).ok());
  EXPECT_FALSE(buffers.results[0].truncated);
}

TEST(CooperativeNavigationTest, StepBeforeResetFailsPrecondition) {
  Buffers buffers;
  auto env = CooperativeNavigation::Create(0, 1).value();
  EXPECT_EQ(StepWith(*env, buffers, 0, 0, 0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CooperativeNavigationTest, BadActionIsInvalidArgumentNamingTheAgentAndChangesNothing) {
  Buffers buffers;
  auto env = MakeStarted(buffers, /*max_episode_steps=*/2);
  const std::vector<float> before = StateOf(*env);
  for (float bad : {5.0f, 1.5f, std::nanf(""), -1.0f}) {
    for (int k = 0; k < kAgents; ++k) buffers.obs[k].fill(-7.0f);
    StepResult untouched;
    untouched.reward = 42;
    buffers.results.fill(untouched);
    const absl::Status status = StepWith(*env, buffers, 0, bad, 0);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("agent_1")) << bad;
    EXPECT_EQ(StateOf(*env), before) << bad;
    for (int k = 0; k < kAgents; ++k) {
      EXPECT_EQ(buffers.obs[k][0], -7.0f);
      EXPECT_EQ(buffers.results[k].reward, 42);
    }
  }
  // The refused steps did not count: the limit of 2 still falls on the
  // second good step.
  ASSERT_TRUE(StepWith(*env, buffers, 0, 0, 0).ok());
  EXPECT_FALSE(buffers.results[0].truncated);
  ASSERT_TRUE(StepWith(*env, buffers, 0, 0, 0).ok());
  EXPECT_TRUE(buffers.results[0].truncated);
}

// Twenty-five steps of a fixed action sequence from a fresh env of `seed`:
// every observation and reward, in order.
std::vector<float> Episode(uint64_t seed) {
  Buffers buffers;
  auto env = MakeStarted(buffers, 0, seed);
  std::vector<float> trace;
  for (int k = 0; k < kAgents; ++k) trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
  for (int step = 0; step < 25; ++step) {
    EXPECT_TRUE(StepWith(*env, buffers, step % 5, (step + 2) % 5, (3 * step) % 5).ok());
    for (int k = 0; k < kAgents; ++k) {
      trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
      trace.push_back(buffers.results[k].reward);
    }
  }
  return trace;
}

TEST(CooperativeNavigationTest, SameSeedGivesTheSameEpisodeAndOtherSeedsDiffer) {
  EXPECT_EQ(Episode(11), Episode(11));
  EXPECT_NE(Episode(11), Episode(12));
}

TEST(CooperativeNavigationTest, ConsecutiveResetsDrawNewPositions) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::array<float, kObs> first = buffers.obs[0];
  env->Reset(buffers.obs_rows());
  EXPECT_NE(buffers.obs[0], first);
}

TEST(CooperativeNavigationTest, RendersAgentsAndLandmarksDeterministicallyWithoutChangingTheState) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  EXPECT_THAT(env->cameras(), ElementsAre("default"));
  EXPECT_EQ(env->render_fps(), 10);
  // 60x60 over [-1.5, 1.5]^2: 20 pixels a unit; (0.5, 0.5) is the corner of
  // pixel (40, 20), whose centre (0.525, 0.475) lies inside the agent.
  ASSERT_TRUE(env->SetPositions({{0.5, 0.5}, {-0.5, -0.5}, {0.5, -0.5}}, {{-1.425, 1.425}, {0, 0}, {1, 0}}).ok());
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
  const std::vector<int> agent_blue = {89, 89, 217};
  EXPECT_EQ(pixel(40, 20), agent_blue);                    // agent 0 at (0.5, 0.5)
  EXPECT_EQ(pixel(20, 40), agent_blue);                    // agent 1 at (-0.5, -0.5)
  EXPECT_EQ(pixel(1, 1), (std::vector<int>{64, 64, 64}));  // landmark 0 on pixel (1, 1)'s centre
  EXPECT_EQ(pixel(59, 59), (std::vector<int>{255, 255, 255}));
  EXPECT_EQ(pixel(0, 59), (std::vector<int>{255, 255, 255}));

  // Rendering did not disturb the episode: the next step is a twin's.
  Buffers twin_buffers;
  auto twin = MakeStarted(twin_buffers);
  ASSERT_TRUE(twin->SetPositions({{0.5, 0.5}, {-0.5, -0.5}, {0.5, -0.5}}, {{-1.425, 1.425}, {0, 0}, {1, 0}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, 1, 2, 3).ok());
  ASSERT_TRUE(StepWith(*twin, twin_buffers, 1, 2, 3).ok());
  EXPECT_EQ(buffers.obs, twin_buffers.obs);
  EXPECT_EQ(StateOf(*env), StateOf(*twin));
}

TEST(CooperativeNavigationTest, RenderRefusesAnUnknownCamera) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  std::vector<uint8_t> rgb(8 * 8 * 3);
  EXPECT_EQ(env->Render(8, 8, "top", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CooperativeNavigationTest, SetPositionsRefusesTheWrongNumberOfEntities) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<float> before = StateOf(*env);
  EXPECT_EQ(env->SetPositions({{0, 0}}, {{0, 0}, {1, 1}, {2, 2}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StateOf(*env), before);
}

TEST(CooperativeNavigationTest, ItsMetricsAreTheLandmarkDistanceAndTheCollisionsOfEachStep) {
  std::unique_ptr<CooperativeNavigation> env = CooperativeNavigation::Create(0, 3).value();
  ASSERT_EQ(env->metrics().size(), 2u);
  EXPECT_EQ(env->metrics()[0].name, "landmark_distance");
  EXPECT_EQ(env->metrics()[0].over, EnvMetric::Over::kMean);
  EXPECT_EQ(env->metrics()[1].name, "collisions");
  EXPECT_EQ(env->metrics()[1].over, EnvMetric::Over::kSum);
  std::vector<std::vector<float>> obs(3, std::vector<float>(18));
  float* rows[] = {obs[0].data(), obs[1].data(), obs[2].data()};
  env->Reset(rows);
  // Agents 0 and 1 overlap; each landmark is 0.5 from its nearest agent.
  ASSERT_TRUE(env->SetPositions({{0, 0}, {0.2, 0}, {1, 1}}, {{0, 0.5}, {0.2, -0.5}, {1, 1.5}}).ok());
  double values[2];
  env->MeasureStep(values);
  EXPECT_NEAR(values[0], 0.5, 1e-12);
  EXPECT_EQ(values[1], 1);
}

}  // namespace
}  // namespace rill::envs::particle
