#include "envs/batch/agent_rows.h"

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "envs/batch/test_multi_agent_env.h"
#include "envs/batch/test_outputs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;

using Buffers = StepBuffers;

std::unique_ptr<AgentRowsEnvBatch> LeaveBatch(int num_envs, const std::vector<int>& lengths) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(std::make_unique<LeaveEnv>(lengths));
  absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> batch =
      AgentRowsEnvBatch::Create(LeaveEnv::Spec(static_cast<int>(lengths.size())).agent_specs[0], std::move(envs));
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *std::move(batch);
}

TEST(AgentRowsEnvBatchTest, EachAgentIsARowOfItsEnv) {
  std::unique_ptr<AgentRowsEnvBatch> batch = LeaveBatch(2, {5, 5});
  EXPECT_EQ(batch->size(), 4);
  EXPECT_EQ(batch->agents_per_env(), 2);
  Buffers buffers(4);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  EXPECT_THAT(buffers.observations(), ElementsAre(100, 110, 100, 110));
  const float actions[] = {0, 1, 1, 0};
  ASSERT_EQ(batch->Step(4, actions, buffers.out()).value(), 4);
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11, 1, 11));
  EXPECT_THAT(buffers.rewards, ElementsAre(1, 2, 1, 2));
  EXPECT_THAT(buffers.masked, ElementsAre(0, 0, 0, 0));
}

TEST(AgentRowsEnvBatchTest, AnAgentThatLeftIsMaskedUntilItsEnvResetsAllAgents) {
  // Agent 0 ends at step 1, agent 1 at step 3.
  std::unique_ptr<AgentRowsEnvBatch> batch = LeaveBatch(1, {1, 3});
  Buffers buffers(2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, 0};
  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.terminated, ElementsAre(1, 0));
  EXPECT_THAT(buffers.masked, ElementsAre(0, 0)) << "agent 0 acted in the step it ended";
  EXPECT_EQ(buffers.final_observations()[0], 1);
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11)) << "no reset yet: agent 1 goes on";

  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.masked, ElementsAre(1, 0));
  EXPECT_THAT(buffers.rewards, ElementsAre(0, 2)) << "a masked row earns nothing";
  EXPECT_THAT(buffers.terminated, ElementsAre(0, 0));
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 12)) << "the masked row keeps the observation it ended on";

  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.masked, ElementsAre(1, 0));
  EXPECT_THAT(buffers.terminated, ElementsAre(0, 1));
  EXPECT_EQ(buffers.final_observations()[1], 13);
  EXPECT_THAT(buffers.observations(), ElementsAre(200, 210)) << "the last agent ended: every row's next first";

  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.masked, ElementsAre(0, 0)) << "both agents are back";
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11));
}

TEST(AgentRowsEnvBatchTest, EachRowCarriesItsEnvsStateAndTheStateItsAgentEndedOn) {
  // LeaveEnv's state is its step's number; agent 0 ends at step 1, agent 1
  // at step 3.
  std::unique_ptr<AgentRowsEnvBatch> batch = LeaveBatch(2, {1, 3});
  EXPECT_EQ(batch->spec().state_dim, 1);
  Buffers buffers(4);
  std::vector<float> states(4, -1), final_states(4, -1);
  EnvBatchOutput out = buffers.out();
  out.final_states = final_states.data();
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  batch->States(states.data());
  EXPECT_THAT(states, ElementsAre(0, 0, 0, 0));
  const float actions[] = {0, 0, 0, 0};
  ASSERT_TRUE(batch->Step(4, actions, out).ok());
  batch->States(states.data());
  EXPECT_THAT(states, ElementsAre(1, 1, 1, 1));
  EXPECT_THAT(final_states, ElementsAre(1, -1, 1, -1)) << "only the agents that ended";
  ASSERT_TRUE(batch->Step(4, actions, out).ok());
  ASSERT_TRUE(batch->Step(4, actions, out).ok());
  EXPECT_THAT(final_states, ElementsAre(1, 3, 1, 3));
  batch->States(states.data());
  EXPECT_THAT(states, ElementsAre(0, 0, 0, 0)) << "the envs reset: their next episode's first state";
}

TEST(AgentRowsEnvBatchTest, AnEnvsMetricsAreAddedUpOverItsEpisodeAndReportedWhenItEnds) {
  // Env 0's agents end at steps 1 and 3, env 1's both at step 2.
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  envs.push_back(std::make_unique<LeaveEnv>(std::vector<int>{1, 3}));
  envs.push_back(std::make_unique<LeaveEnv>(std::vector<int>{2, 2}));
  std::unique_ptr<AgentRowsEnvBatch> batch =
      AgentRowsEnvBatch::Create(LeaveEnv::Spec(2).agent_specs[0], std::move(envs)).value();
  ASSERT_EQ(batch->metrics().size(), 2u);
  EXPECT_EQ(batch->metrics()[0].name, "steps");
  Buffers buffers(4);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, 0, 0, 0};
  ASSERT_TRUE(batch->Step(4, actions, buffers.out()).ok());
  EXPECT_TRUE(buffers.env_episodes.empty());
  ASSERT_TRUE(batch->Step(4, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.env_episodes.size(), 1u);
  EXPECT_EQ(buffers.env_episodes[0].first_row, 2);
  EXPECT_THAT(buffers.env_episodes[0].values, ElementsAre(2, 1.5)) << "2 steps; their numbers' mean";
  ASSERT_TRUE(batch->Step(4, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.env_episodes.size(), 1u);
  EXPECT_EQ(buffers.env_episodes[0].first_row, 0);
  EXPECT_THAT(buffers.env_episodes[0].values, ElementsAre(3, 2)) << "3 steps, while an agent was masked too";
}

TEST(AgentRowsEnvBatchTest, StepsTheWholeEnvsOfTheActiveRows) {
  std::unique_ptr<AgentRowsEnvBatch> batch = LeaveBatch(3, {5, 5});
  Buffers buffers(6);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, 0, 0, 0, 0, 0};
  EXPECT_EQ(batch->Step(3, actions, buffers.out()).value(), 4) << "row 2 is env 1's first agent: env 1 steps";
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 11, 1, 11, 100, 110));
}

TEST(AgentRowsEnvBatchTest, ABadActionIsTheStepsErrorNamingTheAgent) {
  std::unique_ptr<AgentRowsEnvBatch> batch = LeaveBatch(1, {5, 5});
  Buffers buffers(2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, 2};
  absl::StatusOr<int> stepped = batch->Step(2, actions, buffers.out());
  EXPECT_EQ(stepped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stepped.status().message()), ::testing::HasSubstr("agent_1"));
}

TEST(AgentRowsEnvBatchTest, EnvsOfOtherSpacesAreRefused) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  envs.push_back(std::make_unique<LeaveEnv>(std::vector<int>{3, 3}));
  EnvSpec other = LeaveEnv::Spec(2).agent_specs[0];
  other.num_actions = 3;
  EXPECT_EQ(AgentRowsEnvBatch::Create(other, std::move(envs)).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::unique_ptr<MultiAgentEnv>> mixed;
  mixed.push_back(std::make_unique<LeaveEnv>(std::vector<int>{3, 3}));
  mixed.push_back(std::make_unique<LeaveEnv>(std::vector<int>{3, 3, 3}));
  EXPECT_EQ(AgentRowsEnvBatch::Create(LeaveEnv::Spec(2).agent_specs[0], std::move(mixed)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AgentRowsEnvBatchTest, AgentsOfDifferentObservationSizesAreRowsPaddedToTheWidest) {
  // Agent 0 observes 1 float, agent 1 three: rows of 3, agent 0's padded.
  const std::vector<int> widths = {1, 3};
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < 2; ++i) envs.push_back(std::make_unique<LeaveEnv>(std::vector<int>{1, 2}, widths));
  EnvSpec row = LeaveEnv::Spec(2, widths).agent_specs[1];
  absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> batch = AgentRowsEnvBatch::Create(row, std::move(envs));
  ASSERT_TRUE(batch.ok()) << batch.status();
  Buffers buffers(4, 3);
  ASSERT_TRUE((*batch)->Reset(buffers.obs.data()).ok());
  EXPECT_THAT(buffers.observations(), ElementsAre(100, 0, 0, 110, 111, 112, 100, 0, 0, 110, 111, 112));
  const float actions[] = {0, 1, 1, 0};
  ASSERT_EQ((*batch)->Step(4, actions, buffers.out()).value(), 4);
  EXPECT_THAT(buffers.observations(), ElementsAre(1, 0, 0, 11, 12, 13, 1, 0, 0, 11, 12, 13));
  // Agent 0 ended on its first step: its final observation, padded; agent
  // 1's row of final observations is left alone.
  EXPECT_THAT(buffers.terminated, ElementsAre(1, 0, 1, 0));
  EXPECT_THAT(buffers.final_observations(), ElementsAre(1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0));
  ASSERT_EQ((*batch)->Step(4, actions, buffers.out()).value(), 4);
  // Agent 1 ended too, so each env was reset within the step.
  EXPECT_THAT(buffers.terminated, ElementsAre(0, 1, 0, 1));
  EXPECT_THAT(buffers.final_observations(), ElementsAre(1, 0, 0, 12, 13, 14, 1, 0, 0, 12, 13, 14));
  EXPECT_THAT(buffers.observations(), ElementsAre(200, 0, 0, 210, 211, 212, 200, 0, 0, 210, 211, 212));
}

TEST(AgentRowsEnvBatchTest, RowsNarrowerThanAnAgentsObservationAreRefused) {
  const std::vector<int> widths = {1, 3};
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  envs.push_back(std::make_unique<LeaveEnv>(std::vector<int>{1, 2}, widths));
  absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> batch =
      AgentRowsEnvBatch::Create(LeaveEnv::Spec(2, widths).agent_specs[0], std::move(envs));
  ASSERT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(batch.status().message()), ::testing::HasSubstr("agent_1 does not fit its rows"));
}

}  // namespace
}  // namespace rill::envs
