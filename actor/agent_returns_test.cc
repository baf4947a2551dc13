#include "actor/agent_returns.h"

#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::actor {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

v1::EnvConfig Env(const std::string& name, bool joint) {
  v1::EnvConfig env;
  env.set_name(name);
  env.set_joint_agents(joint);
  return env;
}

TEST(AgentReturnsTest, ASingleAgentEnvHasNone) {
  EXPECT_EQ(AgentReturns::ForEnv(Env("Pendulum-v1", false), 4), nullptr);
}

TEST(AgentReturnsTest, AnAgentRowsEpisodeIsItsAgents) {
  // 2 envs of 3 agents: rows 0-2 and 3-5.
  std::unique_ptr<AgentReturns> returns = AgentReturns::ForEnv(Env("CooperativeNavigation-v0", false), 6);
  ASSERT_NE(returns, nullptr);
  EXPECT_THAT(returns->agents(), ElementsAre("agent_0", "agent_1", "agent_2"));
  const float ignored[] = {100, 100, 100};
  returns->AddStep(4, ignored);
  EXPECT_THAT(returns->EndEpisode(4, -3.5), ElementsAre(Pair(1, -3.5)));
  EXPECT_THAT(returns->EndEpisode(5, -1.0), ElementsAre(Pair(2, -1.0)));
}

TEST(AgentReturnsTest, AJointRowAddsUpEachAgentsOwnRewards) {
  std::unique_ptr<AgentReturns> returns = AgentReturns::ForEnv(Env("CooperativeNavigation-v0", true), 2);
  ASSERT_NE(returns, nullptr);
  const float first[] = {-1, -2, -3}, second[] = {-0.5f, 0, 1};
  returns->AddStep(1, first);
  returns->AddStep(1, second);
  returns->AddStep(0, first);
  // The row's own return (their mean) is not what each agent got.
  EXPECT_THAT(returns->EndEpisode(1, -1.83), ElementsAre(Pair(0, -1.5), Pair(1, -2.0), Pair(2, -2.0)));
  // It starts over; row 0 kept its own.
  EXPECT_THAT(returns->EndEpisode(1, 0), ElementsAre(Pair(0, 0.0), Pair(1, 0.0), Pair(2, 0.0)));
  returns->Drop(0);
  returns->AddStep(0, second);
  EXPECT_THAT(returns->EndEpisode(0, 0), ElementsAre(Pair(0, -0.5), Pair(1, 0.0), Pair(2, 1.0)));
}

}  // namespace
}  // namespace rill::actor
