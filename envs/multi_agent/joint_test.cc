#include "envs/multi_agent/joint.h"

#include <vector>

#include "envs/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(JointLayoutTest, AgentsOfDifferentObservationsLieOneAfterAnother) {
  // PredatorPrey-v0: three predators observe 16 floats, the prey 14; each
  // takes one of 5 moves.
  const MultiAgentSpec spec = LookupMultiAgentSpec("PredatorPrey-v0").value();
  const std::vector<JointSlot> slots = JointLayout(spec);
  ASSERT_EQ(slots.size(), 4u);
  const int obs_offsets[] = {0, 16, 32, 48};
  const int obs_dims[] = {16, 16, 16, 14};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(slots[k].obs_offset, obs_offsets[k]) << "agent " << k;
    EXPECT_EQ(slots[k].obs_dim, obs_dims[k]) << "agent " << k;
    EXPECT_EQ(slots[k].action_offset, 5 * k) << "agent " << k;
    EXPECT_EQ(slots[k].action_width, 5) << "a one-hot of its 5 actions";
    EXPECT_TRUE(slots[k].discrete);
  }
}

TEST(JointSpecTest, AHeterogeneousEnvsRowConcatenatesItsAgents) {
  const EnvSpec row = JointSpec(LookupMultiAgentSpec("PredatorPrey-v0", 40).value()).value();
  EXPECT_EQ(row.name, "PredatorPrey-v0");
  EXPECT_EQ(row.joint_agents, 4);
  EXPECT_EQ(row.max_episode_steps, 40);
  EXPECT_THAT(row.observation_shape, ElementsAre(62));
  EXPECT_FALSE(row.discrete) << "the one-hots are one continuous action";
  EXPECT_EQ(row.action_dim(), 20);
  EXPECT_THAT(row.action_low, Each(-1.f));
  EXPECT_THAT(row.action_high, Each(1.f));
}

TEST(JointSpecTest, CooperativeNavigationsRowIsItsThreeAgents) {
  const MultiAgentSpec spec = LookupMultiAgentSpec("CooperativeNavigation-v0").value();
  const EnvSpec row = JointSpec(spec).value();
  EXPECT_EQ(row.joint_agents, 3);
  EXPECT_THAT(row.observation_shape, ElementsAre(3 * 18));
  EXPECT_EQ(row.action_dim(), 15);
  EXPECT_EQ(row.max_episode_steps, 25);
  const std::vector<JointSlot> slots = JointLayout(spec);
  EXPECT_EQ(slots[2].obs_offset, 36);
  EXPECT_EQ(slots[2].action_offset, 10);
}

TEST(JointSpecTest, AContinuousAgentKeepsItsBounds) {
  MultiAgentSpec spec;
  spec.name = "Mixed-v0";
  spec.max_episode_steps = 10;
  EnvSpec mover;
  mover.observation_shape = {3};
  mover.action_low = {-2.f, 0.f};
  mover.action_high = {2.f, 1.f};
  EnvSpec chooser;
  chooser.observation_shape = {1};
  chooser.discrete = true;
  chooser.num_actions = 3;
  spec.agents = {"mover", "chooser"};
  spec.agent_specs = {mover, chooser};
  const EnvSpec row = JointSpec(spec).value();
  EXPECT_THAT(row.action_low, ElementsAre(-2.f, 0.f, -1.f, -1.f, -1.f));
  EXPECT_THAT(row.action_high, ElementsAre(2.f, 1.f, 1.f, 1.f, 1.f));
  const std::vector<JointSlot> slots = JointLayout(spec);
  EXPECT_EQ(slots[1].obs_offset, 3);
  EXPECT_EQ(slots[1].action_offset, 2);
  EXPECT_FALSE(slots[0].discrete);
}

TEST(JointSpecTest, AnAgentObservingBytesIsRefusedByName) {
  MultiAgentSpec spec;
  spec.name = "Pixels-v0";
  EnvSpec agent;
  agent.observation_shape = {3, 8, 8};
  agent.observation_type = ObservationType::kUint8;
  agent.discrete = true;
  agent.num_actions = 2;
  spec.agents = {"watcher"};
  spec.agent_specs = {agent};
  absl::StatusOr<EnvSpec> row = JointSpec(spec);
  EXPECT_EQ(row.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("watcher"));
}

}  // namespace
}  // namespace rill::envs
