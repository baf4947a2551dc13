#include "envs/particle/physical_deception.h"

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

constexpr int kAgents = PhysicalDeception::kNumAgents;
constexpr int kMaxObs = PhysicalDeception::kGoodObsDim;
constexpr double kTol = 1e-5;

// Per-agent buffers for Reset and Step, as an EnvBatch's rows would be;
// each row as long as the longest observation (the adversary uses 8 of 10).
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

std::unique_ptr<PhysicalDeception> MakeStarted(Buffers& buffers, int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = PhysicalDeception::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  (*env)->Reset(buffers.obs_rows());
  return std::move(env).value();
}

// Actions of the adversary, then the two good agents.
absl::Status StepWith(PhysicalDeception& env, Buffers& buffers, std::array<float, kAgents> actions) {
  buffers.action = actions;
  return env.Step(buffers.action_rows(), buffers.obs_rows(), buffers.results.data());
}

std::vector<float> StateOf(const PhysicalDeception& env) {
  std::vector<float> state(PhysicalDeception::kStateDim);
  env.State(state.data());
  return state;
}

TEST(PhysicalDeceptionTest, SpecHasAnAdversaryOfEightFloatsThenTwoGoodAgentsOfTen) {
  const MultiAgentSpec spec = PhysicalDeception::Spec();
  EXPECT_EQ(spec.name, "PhysicalDeception-v0");
  EXPECT_THAT(spec.agents, ElementsAre("adversary_0", "agent_0", "agent_1"));
  ASSERT_EQ(spec.agent_specs.size(), 3u);
  for (int k = 0; k < kAgents; ++k) {
    const EnvSpec& agent = spec.agent_specs[k];
    EXPECT_EQ(agent.name, "PhysicalDeception-v0");
    EXPECT_EQ(agent.obs_dim(), k == 0 ? 8 : 10) << "agent " << k;
    EXPECT_EQ(agent.observation_type, ObservationType::kFloat32);
    EXPECT_TRUE(agent.discrete);
    EXPECT_EQ(agent.num_actions, 5);
    EXPECT_EQ(agent.max_episode_steps, 25);
  }
  EXPECT_FALSE(spec.homogeneous());
  EXPECT_EQ(spec.state_dim(), 18);
  EXPECT_EQ(spec.max_episode_steps, 25);
}

TEST(PhysicalDeceptionTest, CreateTakesZeroAsTwentyFiveAndRefusesANegativeLimit) {
  EXPECT_EQ(PhysicalDeception::Create(0, 1).value()->max_episode_steps(), 25);
  auto seven = PhysicalDeception::Create(7, 1).value();
  EXPECT_EQ(seven->max_episode_steps(), 7);
  EXPECT_EQ(seven->spec().agent_specs[2].max_episode_steps, 7);
  EXPECT_EQ(PhysicalDeception::Create(-1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PhysicalDeceptionTest, ResetDrawsEitherGoalAndPositionsInTheUnitSquareAtRest) {
  Buffers buffers;
  auto env = PhysicalDeception::Create(0, 3).value();
  std::array<int, 2> goals{};
  for (int episode = 0; episode < 100; ++episode) {
    env->Reset(buffers.obs_rows());
    ASSERT_TRUE(env->goal() == 0 || env->goal() == 1) << env->goal();
    ++goals[env->goal()];
    const std::vector<float> state = StateOf(*env);
    for (int k = 0; k < kAgents; ++k) {
      EXPECT_TRUE(env->live(k));
      EXPECT_LE(std::abs(state[4 * k]), 1.0f);
      EXPECT_LE(std::abs(state[4 * k + 1]), 1.0f);
      EXPECT_EQ(state[4 * k + 2], 0.0f);
      EXPECT_EQ(state[4 * k + 3], 0.0f);
    }
    for (int i = 12; i < 16; ++i) EXPECT_LE(std::abs(state[i]), 1.0f) << i;
    // The one-hot of the goal.
    EXPECT_EQ(state[16], env->goal() == 0 ? 1.0f : 0.0f);
    EXPECT_EQ(state[17], env->goal() == 1 ? 1.0f : 0.0f);
  }
  // Each goal about half the time (binomial(100, 1/2): 50 +- 5).
  EXPECT_GT(goals[0], 25);
  EXPECT_GT(goals[1], 25);
}

TEST(PhysicalDeceptionTest, OnlyTheGoodAgentsObserveTheGoal) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.5, 0.5}, {-0.5, 0.2}, {0.1, -0.7}}, {{0, 0}, {0.9, -0.9}}).ok());
  ASSERT_TRUE(env->SetGoal(1).ok());
  // No-ops from rest: nothing moves.
  ASSERT_TRUE(StepWith(*env, buffers, {0, 0, 0}).ok());

  // The adversary at (0.5, 0.5): landmarks (-0.5, -0.5), (0.4, -1.4);
  // others (-1.0, -0.3), (-0.4, -1.2).
  const std::vector<float> expected_adversary = {-0.5, -0.5, 0.4, -1.4, -1.0, -0.3, -0.4, -1.2};
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(buffers.obs[0][i], expected_adversary[i], kTol) << "adversary, obs[" << i << "]";
  // Good agent 0 at (-0.5, 0.2): the goal, landmark 1, (1.4, -1.1); then
  // landmarks (0.5, -0.2), (1.4, -1.1); others (1.0, 0.3), (0.6, -0.9).
  const std::vector<float> expected_good0 = {1.4, -1.1, 0.5, -0.2, 1.4, -1.1, 1.0, 0.3, 0.6, -0.9};
  // Good agent 1 at (0.1, -0.7): goal (0.8, -0.2); landmarks (-0.1, 0.7),
  // (0.8, -0.2); others (0.4, 1.2), (-0.6, 0.9).
  const std::vector<float> expected_good1 = {0.8, -0.2, -0.1, 0.7, 0.8, -0.2, 0.4, 1.2, -0.6, 0.9};
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(buffers.obs[1][i], expected_good0[i], kTol) << "agent_0, obs[" << i << "]";
    EXPECT_NEAR(buffers.obs[2][i], expected_good1[i], kTol) << "agent_1, obs[" << i << "]";
  }

  // With landmark 0 the goal, the good agents' first two floats follow it;
  // the adversary's observation is the same.
  ASSERT_TRUE(env->SetGoal(0).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {0, 0, 0}).ok());
  EXPECT_NEAR(buffers.obs[1][0], 0.5, kTol);
  EXPECT_NEAR(buffers.obs[1][1], -0.2, kTol);
  EXPECT_NEAR(buffers.obs[2][0], -0.1, kTol);
  EXPECT_NEAR(buffers.obs[2][1], 0.7, kTol);
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(buffers.obs[0][i], expected_adversary[i], kTol) << "adversary, obs[" << i << "]";
}

TEST(PhysicalDeceptionTest, AgentsPassThroughEachOtherAndMoveWithForceFive) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // All three overlap (radii 0.15) but do not collide: no contact force.
  ASSERT_TRUE(env->SetPositions({{0, 0}, {0.1, 0}, {0, 0.1}}, {{1, 1}, {-1, -1}}).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {/*right*/ 2, 0, /*down*/ 3}).ok());
  // From rest, force 5: v = 0.5, p += 0.05.
  const std::vector<float> expected = {0.05, 0, 0.5, 0, 0.1, 0, 0, 0, 0, 0.05, 0, -0.5};
  const std::vector<float> state = StateOf(*env);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(state[i], expected[i], kTol) << "state[" << i << "]";
}

TEST(PhysicalDeceptionTest, AdversaryLosesItsGoalDistanceAndGoodAgentsShareItLessTheirBest) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // The goal, landmark 1, at (0.3, 0.4); the adversary (0.3, 0.4) off it,
  // 0.5 away; good agent 0 at (0, -0.4) off, 1.0 away; good agent 1 at
  // (0.15, -0.2) off, 0.25 away.
  ASSERT_TRUE(env->SetPositions({{0.6, 0.8}, {0.3, -0.6}, {0.45, 0.2}}, {{-0.8, 0.6}, {0.3, 0.4}}).ok());
  ASSERT_TRUE(env->SetGoal(1).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {0, 0, 0}).ok());
  EXPECT_NEAR(buffers.results[0].reward, -0.5, kTol);
  EXPECT_NEAR(buffers.results[1].reward, 0.5 - 0.25, kTol);
  EXPECT_NEAR(buffers.results[2].reward, 0.5 - 0.25, kTol);
  EXPECT_NEAR(env->AdversaryGoalDistance(), 0.5, kTol);
  EXPECT_NEAR(env->GoodGoalDistance(), 0.25, kTol);
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_FALSE(buffers.results[k].terminated);
    EXPECT_FALSE(buffers.results[k].truncated);
  }
}

TEST(PhysicalDeceptionTest, RewardsFollowTheGoalLandmark) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.6, 0.8}, {0.3, -0.6}, {0.45, 0.2}}, {{-0.8, 0.6}, {0.3, 0.4}}).ok());
  ASSERT_TRUE(env->SetGoal(0).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {0, 0, 0}).ok());
  // To (-0.8, 0.6): the adversary (1.4, 0.2) off, sqrt(2); good agent 0
  // (1.1, -1.2) off, sqrt(2.65); good agent 1 (1.25, -0.4) off,
  // sqrt(1.7225), the nearer.
  EXPECT_NEAR(buffers.results[0].reward, -std::sqrt(2.0), kTol);
  EXPECT_NEAR(buffers.results[1].reward, std::sqrt(2.0) - std::sqrt(1.7225), kTol);
  EXPECT_NEAR(buffers.results[2].reward, std::sqrt(2.0) - std::sqrt(1.7225), kTol);
}

TEST(PhysicalDeceptionTest, RewardIsTakenOnTheStateAfterTheStep) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.6, 0.8}, {0.3, -0.6}, {0.45, 0.2}}, {{-0.8, 0.6}, {0.3, 0.4}}).ok());
  ASSERT_TRUE(env->SetGoal(1).ok());
  // The adversary moves right by 0.05 to (0.65, 0.8): (0.35, 0.4) off the
  // goal; good agent 1 moves up to (0.45, 0.25): (0.15, -0.15) off.
  ASSERT_TRUE(StepWith(*env, buffers, {2, 0, 4}).ok());
  EXPECT_NEAR(buffers.results[0].reward, -std::sqrt(0.2825), kTol);
  EXPECT_NEAR(buffers.results[1].reward, std::sqrt(0.2825) - std::sqrt(0.045), kTol);
}

TEST(PhysicalDeceptionTest, StateListsAgentsLandmarksThenTheGoalOneHot) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetPositions({{0.6, 0.8}, {0.3, -0.6}, {0.45, 0.2}}, {{-0.8, 0.6}, {0.3, 0.4}}).ok());
  ASSERT_TRUE(env->SetGoal(1).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {2, 0, 4}).ok());
  const std::vector<float> expected = {0.65, 0.8, 0.5, 0,    0.3, -0.6, 0,   0, 0.45,
                                       0.25, 0,   0.5, -0.8, 0.6, 0.3,  0.4, 0, 1};
  const std::vector<float> state = StateOf(*env);
  ASSERT_EQ(state.size(), expected.size());
  for (size_t i = 0; i < state.size(); ++i) EXPECT_NEAR(state[i], expected[i], kTol) << "state[" << i << "]";
}

TEST(PhysicalDeceptionTest, SetGoalRefusesAnIndexThatIsNotALandmark) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetGoal(1).ok());
  EXPECT_EQ(env->SetGoal(2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env->SetGoal(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env->goal(), 1);
}

TEST(PhysicalDeceptionTest, EveryAgentIsTruncatedTogetherAtStepTwentyFive) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  for (int step = 1; step < 25; ++step) {
    ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3}).ok()) << "step " << step;
    for (int k = 0; k < kAgents; ++k) {
      ASSERT_FALSE(buffers.results[k].truncated) << "step " << step << ", agent " << k;
      ASSERT_FALSE(buffers.results[k].terminated) << "step " << step << ", agent " << k;
      ASSERT_TRUE(env->live(k));
    }
  }
  ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3}).ok());
  for (int k = 0; k < kAgents; ++k) {
    EXPECT_TRUE(buffers.results[k].truncated) << "agent " << k;
    EXPECT_FALSE(buffers.results[k].terminated) << "agent " << k;
    EXPECT_FALSE(env->live(k));
  }
  EXPECT_TRUE(env->episode_over());
  EXPECT_EQ(StepWith(*env, buffers, {0, 0, 0}).code(), absl::StatusCode::kFailedPrecondition);

  env->Reset(buffers.obs_rows());
  EXPECT_TRUE(StepWith(*env, buffers, {0, 0, 0}).ok());
  EXPECT_FALSE(buffers.results[0].truncated);
}

TEST(PhysicalDeceptionTest, StepBeforeResetFailsPrecondition) {
  Buffers buffers;
  auto env = PhysicalDeception::Create(0, 1).value();
  EXPECT_EQ(StepWith(*env, buffers, {0, 0, 0}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PhysicalDeceptionTest, BadActionIsInvalidArgumentNamingTheAgentAndChangesNothing) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<float> before = StateOf(*env);
  for (float bad : {5.0f, 1.5f, std::nanf(""), -1.0f}) {
    const absl::Status good = StepWith(*env, buffers, {0, 0, bad});
    EXPECT_EQ(good.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(good.message()), HasSubstr("agent_1")) << bad;
    const absl::Status adversary = StepWith(*env, buffers, {bad, 0, 0});
    EXPECT_EQ(adversary.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(adversary.message()), HasSubstr("adversary_0")) << bad;
    EXPECT_EQ(StateOf(*env), before) << bad;
  }
  EXPECT_EQ(env->elapsed_steps(), 0);
}

// Twenty-five steps of a fixed action sequence from a fresh env of `seed`:
// the goal, every observation and reward, in order.
std::vector<float> Episode(uint64_t seed) {
  Buffers buffers;
  auto env = MakeStarted(buffers, 0, seed);
  std::vector<float> trace = {static_cast<float>(env->goal())};
  for (int k = 0; k < kAgents; ++k) trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
  for (int step = 0; step < 25; ++step) {
    const std::array<float, kAgents> actions = {static_cast<float>(step % 5), static_cast<float>((step + 2) % 5),
                                                static_cast<float>((3 * step) % 5)};
    EXPECT_TRUE(StepWith(*env, buffers, actions).ok());
    for (int k = 0; k < kAgents; ++k) {
      trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
      trace.push_back(buffers.results[k].reward);
    }
  }
  return trace;
}

TEST(PhysicalDeceptionTest, SameSeedGivesTheSameEpisodeAndOtherSeedsDiffer) {
  EXPECT_EQ(Episode(11), Episode(11));
  EXPECT_NE(Episode(11), Episode(12));
}

TEST(PhysicalDeceptionTest, RendersTheGoalGreenDeterministicallyWithoutChangingTheState) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  EXPECT_THAT(env->cameras(), ElementsAre("default"));
  EXPECT_EQ(env->render_fps(), 10);
  // 60x60 over [-1.5, 1.5]^2: 20 pixels a unit; pixel (col, row) has its
  // centre at (-1.5 + (col + 0.5) / 20, 1.5 - (row + 0.5) / 20). The
  // adversary sits on pixel (30, 30)'s centre, good agent 0 on (10, 10)'s,
  // landmark 0 on (20, 39)'s, landmark 1 on (40, 20)'s.
  const std::vector<Vec2> agents = {{0.025, -0.025}, {-0.975, 0.975}, {1, -1}};
  const std::vector<Vec2> landmarks = {{-0.475, -0.475}, {0.525, 0.475}};
  ASSERT_TRUE(env->SetPositions(agents, landmarks).ok());
  ASSERT_TRUE(env->SetGoal(1).ok());
  const std::vector<float> state = StateOf(*env);

  std::vector<uint8_t> first(60 * 60 * 3), second(60 * 60 * 3);
  ASSERT_TRUE(env->Render(60, 60, "default", first.data()).ok());
  ASSERT_TRUE(env->Render(60, 60, "default", second.data()).ok());
  EXPECT_EQ(first, second);
  EXPECT_EQ(StateOf(*env), state);

  auto pixel = [](const std::vector<uint8_t>& rgb, int col, int row) {
    const uint8_t* p = &rgb[(row * 60 + col) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  const std::vector<int> goal_green = {38, 166, 38};
  const std::vector<int> landmark_grey = {38, 38, 38};
  EXPECT_EQ(pixel(first, 30, 30), (std::vector<int>{217, 89, 89}));  // the adversary
  EXPECT_EQ(pixel(first, 10, 10), (std::vector<int>{89, 89, 217}));  // good agent 0
  EXPECT_EQ(pixel(first, 20, 39), landmark_grey);
  EXPECT_EQ(pixel(first, 40, 20), goal_green);
  EXPECT_EQ(pixel(first, 0, 59), (std::vector<int>{255, 255, 255}));

  // The other goal: the colours swap.
  ASSERT_TRUE(env->SetGoal(0).ok());
  ASSERT_TRUE(env->Render(60, 60, "default", second.data()).ok());
  EXPECT_EQ(pixel(second, 20, 39), goal_green);
  EXPECT_EQ(pixel(second, 40, 20), landmark_grey);

  // Rendering did not disturb the episode: the next step is a twin's.
  Buffers twin_buffers;
  auto twin = MakeStarted(twin_buffers);
  ASSERT_TRUE(twin->SetPositions(agents, landmarks).ok());
  ASSERT_TRUE(twin->SetGoal(0).ok());
  ASSERT_TRUE(StepWith(*env, buffers, {1, 2, 3}).ok());
  ASSERT_TRUE(StepWith(*twin, twin_buffers, {1, 2, 3}).ok());
  EXPECT_EQ(buffers.obs, twin_buffers.obs);
  EXPECT_EQ(StateOf(*env), StateOf(*twin));
}

TEST(PhysicalDeceptionTest, RenderRefusesAnUnknownCamera) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  std::vector<uint8_t> rgb(8 * 8 * 3);
  EXPECT_EQ(env->Render(8, 8, "top", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PhysicalDeceptionTest, SetPositionsRefusesTheWrongNumberOfEntities) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<float> before = StateOf(*env);
  EXPECT_EQ(env->SetPositions({{0, 0}, {1, 1}, {2, 2}}, {{0, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StateOf(*env), before);
}

}  // namespace
}  // namespace rill::envs::particle
