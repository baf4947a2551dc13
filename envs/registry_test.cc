#include "envs/registry.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MakeEnvTest, CreatesEachKnownEnvironmentUnderItsName) {
  for (const std::string& name : KnownEnvNames()) {
    if (IsMultiAgentEnv(name)) continue;
    auto env = MakeEnv(name, 0, 1);
    ASSERT_TRUE(env.ok()) << name << ": " << env.status();
    EXPECT_EQ((*env)->name(), name);
  }
  EXPECT_THAT(KnownEnvNames(),
              ElementsAre("Acrobot-v1", "Ant-v4", "Beacon-v0", "BeaconCameras-v0", "BeaconImage-v0", "BeaconPosition-v0", "CartPole-v1",
                          "CartPoleNoVelocity-v1", "CooperativeNavigation-v0", "CooperativeNavigationContinuous-v0",
                          "HalfCheetah-v4", "Hopper-v4",
                          "Humanoid-v4", "MaskedPick-v0", "MinAtar/Asterix-v1", "MinAtar/Breakout-v1", "MinAtar/Freeway-v1",
                          "MinAtar/Seaquest-v1", "MinAtar/SpaceInvaders-v1", "MountainCar-v0",
                          "MountainCarContinuous-v0", "Pendulum-v1", "PhysicalDeception-v0",
                          "PhysicalDeceptionContinuous-v0", "PongDuel-v0", "PredatorPrey-v0",
                          "PredatorPreyContinuous-v0", "Walker2d-v4"));
}

TEST(MakeEnvTest, ZeroMaxEpisodeStepsTakesTheEnvDefault) {
  EXPECT_EQ(MakeEnv("Pendulum-v1", 0, 1).value()->max_episode_steps(), 200);
  EXPECT_EQ(MakeEnv("CartPole-v1", 0, 1).value()->max_episode_steps(), 500);
}

TEST(MakeEnvTest, ExplicitMaxEpisodeStepsTruncatesThere) {
  auto env = MakeEnv("CartPole-v1", 5, 1).value();
  EXPECT_EQ(env->max_episode_steps(), 5);
  float obs[4];
  env->Reset(obs);
  // Alternating pushes keep the pole up for far more than 5 steps.
  for (int step = 1; step <= 5; ++step) {
    const float action = step % 2;
    auto result = env->Step(&action, obs);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated) << "step " << step;
    EXPECT_EQ(result->truncated, step == 5) << "step " << step;
  }
}

TEST(MakeMultiAgentEnvTest, CreatesEachMultiAgentEnvUnderItsNameWithTheSpecsAgents) {
  int multi_agent = 0;
  for (const std::string& name : KnownEnvNames()) {
    if (!IsMultiAgentEnv(name)) continue;
    ++multi_agent;
    absl::StatusOr<std::unique_ptr<MultiAgentEnv>> env = MakeMultiAgentEnv(name, 0, 1);
    ASSERT_TRUE(env.ok()) << name << ": " << env.status();
    const MultiAgentSpec spec = LookupMultiAgentSpec(name).value();
    EXPECT_EQ((*env)->name(), name);
    EXPECT_EQ((*env)->spec().agents, spec.agents);
    EXPECT_EQ((*env)->max_episode_steps(), spec.max_episode_steps);
  }
  EXPECT_GE(multi_agent, 1);
}

TEST(MakeMultiAgentEnvTest, ASingleAgentNameOrAMultiAgentOneAskedOfMakeEnvIsRefusedByName) {
  EXPECT_EQ(MakeMultiAgentEnv("CartPole-v1", 0, 1).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<Env>> single = MakeEnv("CooperativeNavigation-v0", 0, 1);
  EXPECT_EQ(single.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(single.status().message(), HasSubstr("multi-agent"));
}

TEST(LookupEnvSpecTest, AMultiAgentEnvsRowIsOneAgentsSpecUnderTheEnvsName) {
  const EnvSpec row = LookupEnvSpec("CooperativeNavigation-v0", 30).value();
  EXPECT_EQ(row.name, "CooperativeNavigation-v0");
  EXPECT_THAT(row.observation_shape, ElementsAre(18));
  EXPECT_TRUE(row.discrete);
  EXPECT_EQ(row.num_actions, 5);
  EXPECT_EQ(row.max_episode_steps, 30);
  EXPECT_EQ(LookupMultiAgentSpec("CooperativeNavigation-v0").value().max_episode_steps, 25);
  v1::EnvConfig config;
  config.set_name("CooperativeNavigation-v0");
  EXPECT_EQ(RowsPerEnv(config), 3);
  config.set_name("Pendulum-v1");
  EXPECT_EQ(RowsPerEnv(config), 1);
}

TEST(LookupEnvSpecTest, AMultiAgentEnvWhoseAgentsDifferNamesEachAgentsSpaces) {
  // Agents that act alike: rows of the widest observation.
  absl::StatusOr<EnvSpec> row = LookupEnvSpec("PredatorPrey-v0");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->obs_dim(), 16);
  v1::EnvConfig section;
  section.set_name("PredatorPrey-v0");
  section.add_row_agents("agent_0");
  EXPECT_EQ(ConfiguredEnvSpec(section)->obs_dim(), 14);
  // One policy's rows cannot mix them.
  section.add_row_agents("adversary_0");
  row = ConfiguredEnvSpec(section);
  EXPECT_EQ(row.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(row.status().message(), AllOf(HasSubstr("adversary_0 (16) 5 actions"), HasSubstr("agent_0 (14) 5 actions")));
  EXPECT_FALSE(LookupMultiAgentSpec("PredatorPrey-v0").value().homogeneous());
  EXPECT_TRUE(LookupMultiAgentSpec("PongDuel-v0").value().homogeneous());
}

TEST(ConfiguredEnvSpecTest, AMultiAgentEnvTakesNoWrapperAndSaysWhich) {
  v1::EnvConfig config;
  config.set_name("CooperativeNavigation-v0");
  config.set_action_repeat(2);
  absl::StatusOr<EnvSpec> spec = ConfiguredEnvSpec(config);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("env.action_repeat"));
}

TEST(ConfiguredEnvSpecTest, JointAgentsMakeAMultiAgentEnvOneRowOfItsAgents) {
  v1::EnvConfig config;
  config.set_name("PredatorPrey-v0");
  config.set_joint_agents(true);
  config.set_max_episode_steps(30);
  absl::StatusOr<EnvSpec> spec = ConfiguredEnvSpec(config);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->joint_agents, 4);
  EXPECT_EQ(spec->max_episode_steps, 30);
  EXPECT_EQ(spec->obs_dim(), 3 * 16 + 14) << "its heterogeneous agents, which agent rows refuse";
  EXPECT_EQ(spec->action_dim(), 4 * 5);
  EXPECT_EQ(RowsPerEnv(config), 1);
  config.set_joint_agents(false);
  EXPECT_EQ(RowsPerEnv(config), 4);
}

TEST(ConfiguredEnvSpecTest, JointAgentsOfAnEnvThatIsNotMultiAgentAreRefusedNamingTheField) {
  v1::EnvConfig single;
  single.set_name("CartPole-v1");
  single.set_joint_agents(true);
  absl::StatusOr<EnvSpec> spec = ConfiguredBaseEnvSpec(single);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("env.joint_agents"), HasSubstr("'CartPole-v1'")));

  v1::EnvConfig remote;
  remote.set_name("CooperativeNavigation-v0");
  remote.set_joint_agents(true);
  remote.mutable_remote()->set_address("localhost:1");
  spec = ConfiguredBaseEnvSpec(remote);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("env.joint_agents"), HasSubstr("remote")));

  v1::EnvConfig plugin;
  plugin.set_joint_agents(true);
  plugin.mutable_plugin()->set_library("libnone.so");
  spec = ConfiguredBaseEnvSpec(plugin);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("env.joint_agents"), HasSubstr("plugin")));
}

TEST(ConfiguredEnvSpecTest, JointAgentsOfAnUnknownEnvAreNotFoundListingTheKnownOnes) {
  v1::EnvConfig unknown;
  unknown.set_name("CooperativeNavigation-v9");
  unknown.set_joint_agents(true);
  absl::StatusOr<EnvSpec> spec = ConfiguredBaseEnvSpec(unknown);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(spec.status().message(),
              AllOf(HasSubstr("'CooperativeNavigation-v9'"), HasSubstr("CooperativeNavigation-v0")));
}

TEST(ConfiguredEnvSpecTest, AJointRowTakesNoWrapperEither) {
  v1::EnvConfig config;
  config.set_name("CooperativeNavigation-v0");
  config.set_joint_agents(true);
  config.set_frame_stack(2);
  absl::StatusOr<EnvSpec> spec = ConfiguredEnvSpec(config);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("env.frame_stack"));
}

TEST(LookupEnvSpecTest, SpecsDescribeTheSpacesTheEnvsHave) {
  for (const std::string& name : KnownEnvNames()) {
    if (IsMultiAgentEnv(name)) continue;
    absl::StatusOr<EnvSpec> spec = LookupEnvSpec(name);
    ASSERT_TRUE(spec.ok()) << name << ": " << spec.status();
    auto env = MakeEnv(name, 0, 1).value();
    EXPECT_EQ(spec->name, name);
    EXPECT_EQ(spec->obs_dim(), env->obs_dim());
    EXPECT_EQ(spec->action_dim(), env->act_dim());
    EXPECT_EQ(spec->discrete, env->discrete());
    EXPECT_EQ(spec->max_episode_steps, env->max_episode_steps());
  }
  const EnvSpec pendulum = LookupEnvSpec("Pendulum-v1").value();
  EXPECT_THAT(pendulum.observation_shape, ElementsAre(3));
  EXPECT_THAT(pendulum.action_low, ElementsAre(-2.f));
  EXPECT_THAT(pendulum.action_high, ElementsAre(2.f));
  const EnvSpec cartpole = LookupEnvSpec("CartPole-v1").value();
  EXPECT_TRUE(cartpole.discrete);
  EXPECT_EQ(cartpole.num_actions, 2);
  EXPECT_TRUE(cartpole.action_low.empty());
  const EnvSpec memory = LookupEnvSpec("CartPoleNoVelocity-v1").value();
  EXPECT_THAT(memory.observation_shape, ElementsAre(2));
  EXPECT_EQ(memory.num_actions, 2);
  EXPECT_EQ(memory.max_episode_steps, 500);
}

TEST(LookupEnvSpecTest, TimeLimitOverridesTheDefaultAndBadInputIsNamed) {
  EXPECT_EQ(LookupEnvSpec("CartPole-v1", 100).value().max_episode_steps, 100);
  EXPECT_EQ(LookupEnvSpec("CartPole-v1", -1).status().code(), absl::StatusCode::kInvalidArgument);
  // A name close to none lists the known ones; a likely typo gets the closest.
  absl::StatusOr<EnvSpec> unknown = LookupEnvSpec("Zebra-v9");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("Pendulum-v1"));
  absl::StatusOr<EnvSpec> typo = LookupEnvSpec("Walker-v9");
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(typo.status().message()), HasSubstr("(did you mean 'Walker2d-v4'?)"));
}

TEST(MakeEnvTest, UnknownNameIsNotFoundAndListsKnownNames) {
  auto env = MakeEnv("LunarLander-v2", 0, 1);
  EXPECT_EQ(env.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(env.status().message()),
              AllOf(HasSubstr("LunarLander-v2"), HasSubstr("CartPole-v1"),
                    HasSubstr("Pendulum-v1")));
}

TEST(MakeEnvTest, NegativeMaxEpisodeStepsIsInvalidArgument) {
  EXPECT_EQ(MakeEnv("Pendulum-v1", -1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeEnv("CartPole-v1", -1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MakeEnvTest, SameSeedGivesTheSameFirstObservation) {
  float a[3], b[3];
  MakeEnv("Pendulum-v1", 0, 99).value()->Reset(a);
  MakeEnv("Pendulum-v1", 0, 99).value()->Reset(b);
  EXPECT_EQ(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
}

TEST(MakeEnvTest, DifferentSeedsGiveDifferentFirstObservations) {
  float a[3], b[3];
  MakeEnv("Pendulum-v1", 0, 99).value()->Reset(a);
  MakeEnv("Pendulum-v1", 0, 100).value()->Reset(b);
  EXPECT_NE(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
}

}  // namespace
}  // namespace rill::envs
