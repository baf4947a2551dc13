#include "roles/envs_main.h"

#include "envs/catalog.h"
#include "gtest/gtest.h"

namespace rill::roles {
namespace {

TEST(DescribeActionSpaceTest, NamesDiscreteAndBoxSpacesAsGymnasiumPrintsThem) {
  EXPECT_EQ(DescribeActionSpace(envs::LookupEnvSpec("Acrobot-v1").value()), "Discrete(3)");
  EXPECT_EQ(DescribeActionSpace(envs::LookupEnvSpec("HalfCheetah-v4").value()), "Box(-1, 1, (6,))");
  EXPECT_EQ(DescribeActionSpace(envs::LookupEnvSpec("Humanoid-v4").value()), "Box(-0.4, 0.4, (17,))");
  envs::EnvSpec mixed;
  mixed.action_low = {-1, 0};
  mixed.action_high = {1, 2};
  EXPECT_EQ(DescribeActionSpace(mixed), "Box([-1, 0], [1, 2])");
}

TEST(RenderCamerasTest, SaysWhichEnvsRenderAndFromWhichCameras) {
  EXPECT_EQ(RenderCameras("Pendulum-v1"), "yes: default");
  EXPECT_EQ(RenderCameras("MinAtar/Breakout-v1"), "yes: default");
  EXPECT_EQ(RenderCameras("HalfCheetah-v4"), "yes: track, free");
}

TEST(RenderCamerasTest, AMultiAgentEnvRendersItsWholeScene) {
  EXPECT_EQ(RenderCameras("CooperativeNavigation-v0"), "yes: default");
}

TEST(DescribeAgentsTest, NamesEachAgentAndTheGlobalState) {
  EXPECT_EQ(DescribeAgents(envs::LookupMultiAgentSpec("CooperativeNavigation-v0").value()),
            "agents: agent_0, agent_1, agent_2 (one row each); global state (18,)");
  envs::MultiAgentSpec mixed = envs::LookupMultiAgentSpec("CooperativeNavigation-v0").value();
  mixed.agent_specs[2].num_actions = 3;
  mixed.state_shape.clear();
  EXPECT_EQ(DescribeAgents(mixed),
            "agents: agent_0 (18,) Discrete(5), agent_1 (18,) Discrete(5), agent_2 (18,) Discrete(3); global state none");
}

TEST(DescribeScriptedAgentsTest, NamesTheAgentsAnEnvHasAPlayerFor) {
  EXPECT_EQ(DescribeScriptedAgents("PongDuel-v0"), "scripted players: player_0, player_1");
  EXPECT_EQ(DescribeScriptedAgents("PredatorPrey-v0"),
            "scripted players: adversary_0, adversary_1, adversary_2, agent_0");
  EXPECT_EQ(DescribeScriptedAgents("PredatorPreyContinuous-v0"),
            "scripted players: adversary_0, adversary_1, adversary_2, agent_0");
  EXPECT_EQ(DescribeScriptedAgents("CooperativeNavigation-v0"), "");
  EXPECT_EQ(DescribeScriptedAgents("no-such-env"), "");
}

}  // namespace
}  // namespace rill::roles
