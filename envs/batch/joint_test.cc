#include "envs/batch/joint.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "envs/batch/test_multi_agent_env.h"
#include "envs/batch/test_outputs.h"
#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

using Buffers = StepBuffers;

std::unique_ptr<JointAgentsEnvBatch> LeaveBatch(const std::vector<std::vector<int>>& lengths) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (const std::vector<int>& env : lengths) envs.push_back(std::make_unique<LeaveEnv>(env));
  absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> batch = JointAgentsEnvBatch::Create(std::move(envs));
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *std::move(batch);
}

// Two agents of LeaveEnv pick action 0 (one-hots in [-1, 1]).
constexpr float kPickZero[] = {1, -1, 1, -1};

TEST(JointAgentsEnvBatchTest, EachEnvIsOneRowOfItsAgentsTogether) {
  std::unique_ptr<JointAgentsEnvBatch> batch = LeaveBatch({{5, 5}, {5, 5}});
  EXPECT_EQ(batch->size(), 2);
  EXPECT_EQ(batch->agents_per_env(), 2);
  EXPECT_EQ(batch->spec().joint_agents, 2);
  EXPECT_EQ(batch->spec().action_dim(), 4);
  Buffers buffers(2, 2, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  EXPECT_THAT(buffers.observations(), ElementsAre(100, 110, 100, 110));
  const float actions[] = {1, -1, -1, 1, -1, 1, 1, -1};
  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11, 1, 11));
  EXPECT_THAT(buffers.rewards, ElementsAre(1.5, 1.5)) << "the mean of the agents' 1 and 2";
  EXPECT_THAT(buffers.agent_rewards, ElementsAre(1, 2, 1, 2));
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(buffers.masked, ElementsAre(0, 0)) << "a joint row never masks";
  EXPECT_THAT(buffers.terminated, ElementsAre(0, 0));
  EXPECT_THAT(buffers.truncated, ElementsAre(0, 0));
}

// One PredatorPrey-v0 (seed 7) as a joint batch beside its twin stepped
// directly, both reset: the twin's agents observe into twin_obs, laid out
// as the batch's row.
struct BatchAndTwin {
  BatchAndTwin() : twin(MakeMultiAgentEnv("PredatorPrey-v0", 0, 7).value()) {
    std::vector<std::unique_ptr<MultiAgentEnv>> envs;
    envs.push_back(MakeMultiAgentEnv("PredatorPrey-v0", 0, 7).value());
    batch = JointAgentsEnvBatch::Create(std::move(envs)).value();
    slots = JointLayout(twin->spec());
    k_agents = twin->spec().num_agents();
    obs_dim = batch->spec().obs_dim();
    twin_obs.assign(obs_dim, 0.f);
    for (const JointSlot& slot : slots) twin_parts.push_back(&twin_obs[slot.obs_offset]);
    buffers = std::make_unique<Buffers>(1, obs_dim, k_agents);
    EXPECT_TRUE(batch->Reset(buffers->obs.data()).ok());
    twin->Reset(twin_parts.data());
  }

  std::unique_ptr<MultiAgentEnv> twin;
  std::unique_ptr<JointAgentsEnvBatch> batch;
  std::vector<JointSlot> slots;
  int k_agents = 0;
  int obs_dim = 0;
  std::vector<float> twin_obs;
  std::vector<float*> twin_parts;
  std::unique_ptr<Buffers> buffers;
};

TEST(JointAgentsEnvBatchTest, OneHotsPlayTheirLargestEntryAsTheEnvItselfWouldStep) {
  // The same seed twice: one env stepped through the batch with one-hots,
  // its twin directly with the indices the one-hots stand for.
  BatchAndTwin made;
  auto& [twin, batch, slots, k_agents, obs_dim, twin_obs, twin_parts, buffers_owned] = made;
  Buffers& buffers = *buffers_owned;
  EXPECT_THAT(buffers.observations(), ElementsAreArray(twin_obs));

  std::vector<StepResult> results(k_agents);
  for (int t = 0; t < 10; ++t) {
    std::vector<float> row(batch->spec().action_dim(), -1.f);
    std::vector<float> indices(k_agents);
    std::vector<const float*> twin_actions;
    for (int k = 0; k < k_agents; ++k) {
      // Step 0: every entry equal, so the first (action 0) wins the tie;
      // after it a largest entry among smaller ones, not a clean one-hot.
      const int index = t == 0 ? 0 : (t + k) % slots[k].action_width;
      for (int j = 0; j < slots[k].action_width; ++j) {
        row[slots[k].action_offset + j] = t == 0 ? 0.f : (j == index ? 0.4f : 0.1f * j - 0.5f);
      }
      indices[k] = static_cast<float>(index);
    }
    for (int k = 0; k < k_agents; ++k) twin_actions.push_back(&indices[k]);
    ASSERT_TRUE(batch->Step(1, row.data(), buffers.out()).ok());
    ASSERT_TRUE(twin->Step(twin_actions.data(), twin_parts.data(), results.data()).ok());
    EXPECT_THAT(buffers.observations(), ElementsAreArray(twin_obs)) << "step " << t;
    double sum = 0;
    for (int k = 0; k < k_agents; ++k) {
      EXPECT_FLOAT_EQ(buffers.agent_rewards[k], results[k].reward) << "step " << t << ", agent " << k;
      sum += results[k].reward;
    }
    EXPECT_FLOAT_EQ(buffers.rewards[0], static_cast<float>(sum / k_agents)) << "step " << t;
  }
}

// The prey scripted (eval.scripted_agents): whatever its slot of the row
// says, it plays its env's script for its own observation, as its twin
// does when given the script's action; the predators play their slots.
TEST(JointAgentsEnvBatchTest, AScriptedAgentPlaysItsEnvsScriptWhateverItsSlotSays) {
  BatchAndTwin made;
  auto& [twin, batch, slots, k_agents, obs_dim, twin_obs, twin_parts, buffers_owned] = made;
  Buffers& buffers = *buffers_owned;
  const int prey = k_agents - 1;
  absl::StatusOr<std::vector<int>> rows = batch->ScriptAgent(prey, buffers.obs.data(), nullptr);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty()) << "a joint row is every agent's, not the scripted one's";

  std::vector<StepResult> results(k_agents);
  int scripted_moves = 0;
  for (int t = 0; t < 12; ++t) {
    // Every agent's slot says "up" (4); the twin's prey gets the script's
    // action for its observation instead.
    std::vector<float> row(batch->spec().action_dim(), -1.f);
    for (int k = 0; k < k_agents; ++k) row[slots[k].action_offset + 4] = 1.f;
    std::vector<float> indices(k_agents, 4.f);
    ASSERT_TRUE(twin->ScriptedAction(prey, twin_parts[prey], &indices[prey]));
    if (indices[prey] != 4.f) ++scripted_moves;
    std::vector<const float*> twin_actions;
    for (int k = 0; k < k_agents; ++k) twin_actions.push_back(&indices[k]);
    ASSERT_TRUE(batch->Step(1, row.data(), buffers.out()).ok());
    ASSERT_TRUE(twin->Step(twin_actions.data(), twin_parts.data(), results.data()).ok());
    EXPECT_THAT(buffers.observations(), ElementsAreArray(twin_obs)) << "step " << t;
  }
  EXPECT_GT(scripted_moves, 0) << "the script never moved otherwise than the slot: the test shows nothing";

  // An env that scripts no player for an agent, and an agent it lacks.
  std::unique_ptr<JointAgentsEnvBatch> unscripted = LeaveBatch({{5, 5}});
  Buffers leave_buffers(1, 2, 2);
  ASSERT_TRUE(unscripted->Reset(leave_buffers.obs.data()).ok());
  EXPECT_EQ(unscripted->ScriptAgent(0, leave_buffers.obs.data(), nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(batch->ScriptAgent(k_agents, buffers.obs.data(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Agent 0 (Discrete(3)) observes [step, its action mask], the mask
// allowing only action step mod 3; agent 1 (Discrete(2), unmasked) observes
// [step]. Each step records the indices the env was given.
class GateDuoEnv final : public MultiAgentEnv {
 public:
  static MultiAgentSpec Spec() {
    MultiAgentSpec spec;
    spec.name = "GateDuo-v0";
    spec.max_episode_steps = 100;
    EnvSpec masked;
    masked.name = spec.name;
    masked.observation_shape = {4};
    masked.discrete = true;
    masked.num_actions = 3;
    masked.action_mask = true;
    masked.max_episode_steps = 100;
    EnvSpec plain = masked;
    plain.observation_shape = {1};
    plain.num_actions = 2;
    plain.action_mask = false;
    spec.agents = {"gated", "free"};
    spec.agent_specs = {masked, plain};
    return spec;
  }
  // `lie_at`: the step after which agent 0's mask allows nothing (0: never).
  explicit GateDuoEnv(int lie_at = 0) : MultiAgentEnv(Spec()), lie_at_(lie_at) {}

  void Reset(float* const* obs) override {
    StartEpisode();
    step_ = 0;
    Observe(obs);
  }
  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) override {
    if (absl::Status checked = CheckStep(actions); !checked.ok()) return checked;
    played.push_back({static_cast<int>(actions[0][0]), static_cast<int>(actions[1][0])});
    ++step_;
    Observe(next_obs);
    results[0] = StepResult{0.f, false, false};
    results[1] = StepResult{0.f, false, false};
    EndStep(results);
    return absl::OkStatus();
  }
  std::vector<std::pair<int, int>> played;

 private:
  void Observe(float* const* obs) const {
    obs[0][0] = static_cast<float>(step_);
    for (int a = 0; a < 3; ++a) obs[0][1 + a] = a == step_ % 3 && (lie_at_ == 0 || step_ != lie_at_) ? 1.f : 0.f;
    obs[1][0] = static_cast<float>(step_);
  }
  const int lie_at_ = 0;
  int step_ = 0;
};

TEST(JointAgentsEnvBatchTest, AMaskedAgentPlaysTheLargestEntryItsMaskAllows) {
  auto env = std::make_unique<GateDuoEnv>();
  GateDuoEnv* raw = env.get();
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  envs.push_back(std::move(env));
  std::unique_ptr<JointAgentsEnvBatch> batch = JointAgentsEnvBatch::Create(std::move(envs)).value();
  ASSERT_EQ(batch->spec().action_dim(), 5);
  Buffers buffers(1, 5, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  for (int t = 0; t < 6; ++t) {
    // Agent 0's largest entry is always action 2; only step mod 3 is
    // allowed, so that one (the largest among the allowed) is played.
    // Agent 1 plays its largest entry as ever.
    const float row[5] = {0.1f, 0.2f, 0.9f, -1.f, 1.f};
    ASSERT_TRUE(batch->Step(1, row, buffers.out()).ok());
  }
  ASSERT_EQ(raw->played.size(), 6u);
  for (int t = 0; t < 6; ++t) {
    EXPECT_EQ(raw->played[t].first, t % 3) << "step " << t;
    EXPECT_EQ(raw->played[t].second, 1) << "step " << t;
  }
}

TEST(JointAgentsEnvBatchTest, AMaskThatAllowsNothingForALiveAgentIsNamed) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  envs.push_back(std::make_unique<GateDuoEnv>(/*lie_at=*/2));
  std::unique_ptr<JointAgentsEnvBatch> batch = JointAgentsEnvBatch::Create(std::move(envs)).value();
  Buffers buffers(1, 5, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float row[5] = {0.1f, 0.2f, 0.9f, -1.f, 1.f};
  ASSERT_TRUE(batch->Step(1, row, buffers.out()).ok());
  ASSERT_TRUE(batch->Step(1, row, buffers.out()).ok());  // its observation now allows nothing
  const absl::Status refused = batch->Step(1, row, buffers.out()).status();
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("GateDuo-v0 (joint row 0, agent gated)"));
}

TEST(JointAgentsEnvBatchTest, AnAgentThatLeftStaysTerminatedWithItsObservationFrozenUntilTheEnvResets) {
  // Agent 0 ends at step 2, agent 1 at step 4.
  std::unique_ptr<JointAgentsEnvBatch> batch = LeaveBatch({{2, 4}});
  Buffers buffers(1, 2, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  ASSERT_EQ(batch->Step(1, kPickZero, buffers.out()).value(), 1);
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(0, 0));
  ASSERT_EQ(batch->Step(1, kPickZero, buffers.out()).value(), 1);
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(1, 0));
  EXPECT_THAT(buffers.terminated, ElementsAre(0)) << "agent 1 goes on";
  EXPECT_THAT(buffers.observations(), ElementsAre(2, 12));

  ASSERT_EQ(batch->Step(1, kPickZero, buffers.out()).value(), 1);
  EXPECT_THAT(buffers.observations(), ElementsAre(2, 13)) << "agent 0's part is the one it ended on";
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(1, 0)) << "nothing of a departed agent is bootstrapped";
  EXPECT_THAT(buffers.agent_rewards, ElementsAre(0, 2));
  EXPECT_THAT(buffers.rewards, ElementsAre(1)) << "a departed agent counts 0 in the mean";
  EXPECT_THAT(buffers.masked, ElementsAre(0));

  ASSERT_EQ(batch->Step(1, kPickZero, buffers.out()).value(), 1);
  EXPECT_THAT(buffers.terminated, ElementsAre(1)) << "every agent ended by termination";
  EXPECT_THAT(buffers.truncated, ElementsAre(0));
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(1, 1));
  EXPECT_THAT(buffers.final_observations(), ElementsAre(2, 14));
  EXPECT_THAT(buffers.observations(), ElementsAre(200, 210)) << "the env reset inside the Step";

  ASSERT_EQ(batch->Step(1, kPickZero, buffers.out()).value(), 1);
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(0, 0)) << "both agents are back";
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11));
}

TEST(JointAgentsEnvBatchTest, ARowEndsTruncatedWhenAnAgentWasCutOffByTheTimeLimit) {
  // Agent 0 terminates at step 1; agent 1 outlives LeaveEnv's 1000 steps.
  std::unique_ptr<JointAgentsEnvBatch> batch = LeaveBatch({{1, 5000}});
  Buffers buffers(1, 2, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  for (int t = 1; t < 1000; ++t) {
    ASSERT_TRUE(batch->Step(1, kPickZero, buffers.out()).ok());
    ASSERT_EQ(buffers.terminated[0] + buffers.truncated[0], 0) << "step " << t;
  }
  ASSERT_TRUE(batch->Step(1, kPickZero, buffers.out()).ok());
  EXPECT_THAT(buffers.truncated, ElementsAre(1));
  EXPECT_THAT(buffers.terminated, ElementsAre(0));
  EXPECT_THAT(buffers.agent_terminated, ElementsAre(1, 0)) << "agent 1 was truncated: it bootstraps";
  EXPECT_THAT(buffers.final_observations(), ElementsAre(1, 1010));
}

TEST(JointAgentsEnvBatchTest, AnEnvsMetricsAreReportedUnderItsRowWhenItsEpisodeEnds) {
  // Env 0's agents end at steps 1 and 3, env 1's both at step 2.
  std::unique_ptr<JointAgentsEnvBatch> batch = LeaveBatch({{1, 3}, {2, 2}});
  ASSERT_EQ(batch->metrics().size(), 2u);
  EXPECT_EQ(batch->metrics()[1].name, "step");
  Buffers buffers(2, 2, 2);
  const float actions[] = {1, -1, 1, -1, 1, -1, 1, -1};
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  ASSERT_TRUE(batch->Step(2, actions, buffers.out()).ok());
  EXPECT_TRUE(buffers.env_episodes.empty());
  ASSERT_TRUE(batch->Step(2, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.env_episodes.size(), 1u);
  EXPECT_EQ(buffers.env_episodes[0].first_row, 1);
  EXPECT_THAT(buffers.env_episodes[0].values, ElementsAre(2, 1.5)) << "2 steps; their numbers' mean";
  ASSERT_TRUE(batch->Step(2, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.env_episodes.size(), 1u);
  EXPECT_EQ(buffers.env_episodes[0].first_row, 0);
  EXPECT_THAT(buffers.env_episodes[0].values, ElementsAre(3, 2));
}

TEST(JointAgentsEnvBatchTest, StepsOnlyTheActiveRows) {
  std::unique_ptr<JointAgentsEnvBatch> batch = LeaveBatch({{5, 5}, {5, 5}, {5, 5}});
  Buffers buffers(3, 2, 2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  std::vector<float> actions(12, 0.f);
  EXPECT_EQ(batch->Step(2, actions.data(), buffers.out()).value(), 2);
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11, 1, 11, 100, 110));
}

TEST(JointAgentsEnvBatchTest, EnvsOfOtherAgentsAreRefused) {
  std::vector<std::unique_ptr<MultiAgentEnv>> mixed;
  mixed.push_back(std::make_unique<LeaveEnv>(std::vector<int>{3, 3}));
  mixed.push_back(std::make_unique<LeaveEnv>(std::vector<int>{3, 3, 3}));
  EXPECT_EQ(JointAgentsEnvBatch::Create(std::move(mixed)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JointAgentsEnvBatch::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JointAgentsEnvBatchTest, RendersTheWholeSceneOfAnEnv) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (uint64_t seed : {1, 2}) envs.push_back(MakeMultiAgentEnv("CooperativeNavigation-v0", 0, seed).value());
  std::unique_ptr<JointAgentsEnvBatch> batch = JointAgentsEnvBatch::Create(std::move(envs)).value();
  Buffers buffers(2, batch->spec().obs_dim(), 3);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  EXPECT_FALSE(batch->cameras().empty());
  RgbImage image;
  ASSERT_TRUE(batch->Render(1, 32, 24, "", &image).ok());
  EXPECT_EQ(image.width, 32);
  EXPECT_EQ(image.height, 24);
}

}  // namespace
}  // namespace rill::envs
