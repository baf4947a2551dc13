#include "envs/batch/make.h"

#include <memory>
#include <string>
#include <vector>

#include "envs/catalog.h"
#include "envs/plugin/test_libraries.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MakeEnvBatchTest, RepeatPixelsAndStackGiveTheSpecEveryProcessDerives) {
  v1::EnvConfig config;
  config.set_name("Pendulum-v1");
  config.set_action_repeat(2);
  config.mutable_pixels()->set_width(40);
  config.mutable_pixels()->set_height(30);
  config.set_frame_stack(3);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(config, 2, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT((*batch)->spec().observation_shape, ElementsAre(9, 30, 40));
  EXPECT_EQ((*batch)->spec().observation_shape, ConfiguredEnvSpec(config)->observation_shape);
  EXPECT_EQ((*batch)->spec().max_episode_steps, 100);

  const size_t obs_bytes = static_cast<size_t>((*batch)->spec().obs_bytes());
  std::vector<uint8_t> obs(2 * obs_bytes), final_obs(2 * obs_bytes);
  std::vector<float> rewards(2);
  std::vector<uint8_t> terminated(2), truncated(2), masked(2);
  std::vector<EnvFailure> failures;
  const EnvBatchOutput out{obs.data(), final_obs.data(), rewards.data(), terminated.data(), truncated.data(),
                           masked.data(), &failures};
  ASSERT_TRUE((*batch)->Reset(obs.data()).ok());
  const float torques[] = {0.5f, 0.5f};
  int steps = 0;
  while (truncated[0] == 0 && steps < 500) {
    ASSERT_TRUE((*batch)->Step(2, torques, out).ok());
    ++steps;
  }
  EXPECT_EQ(steps, 100) << "Pendulum's 200 steps, two at a time";
  EXPECT_EQ(truncated[1], 1);
  // Videos draw the state env at any size.
  RgbImage image;
  EXPECT_TRUE((*batch)->Render(1, 64, 64, "", &image).ok());
}

TEST(MakeEnvBatchTest, JointAgentsMakeOneRowPerEnvThatReportsEachAgent) {
  v1::EnvConfig config;
  config.set_name("CooperativeNavigation-v0");
  config.set_joint_agents(true);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(config, 2, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ((*batch)->size(), 2) << "one row per env, not per agent";
  EXPECT_EQ((*batch)->spec().joint_agents, 3);
  EXPECT_EQ((*batch)->spec().obs_dim(), ConfiguredEnvSpec(config)->obs_dim());

  const size_t obs_bytes = static_cast<size_t>((*batch)->spec().obs_bytes());
  std::vector<uint8_t> obs(2 * obs_bytes), final_obs(2 * obs_bytes);
  std::vector<float> rewards(2), agent_rewards(6, -9);
  std::vector<uint8_t> terminated(2), truncated(2), masked(2), agent_terminated(6, 7);
  std::vector<EnvFailure> failures;
  EnvBatchOutput out{obs.data(), final_obs.data(), rewards.data(), terminated.data(), truncated.data(),
                     masked.data(), &failures};
  out.agent_rewards = agent_rewards.data();
  out.agent_terminated = agent_terminated.data();
  ASSERT_TRUE((*batch)->Reset(obs.data()).ok());
  const std::vector<float> actions(2 * 15, 0.f);
  ASSERT_TRUE((*batch)->Step(2, actions.data(), out).ok());
  EXPECT_THAT(agent_terminated, ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_FLOAT_EQ(rewards[1], (agent_rewards[3] + agent_rewards[4] + agent_rewards[5]) / 3);
  EXPECT_NE(agent_rewards[3], -9);
}

// A plugin library's multi-agent env: its agents are rows like a
// catalogued one's, and an env whose library misbehaves fails alone (its
// rows listed, the env reset) where a C++ env's error would stop the step.
TEST(MakeEnvBatchTest, APluginsMultiAgentEnvIsRowsAndFailsEnvByEnv) {
  v1::EnvConfig config;
  config.mutable_plugin()->set_library(TestPlugin("faulty_multi_agent_plugin"));
  config.mutable_plugin()->set_id("Glitch-v0");
  EXPECT_TRUE(IsMultiAgentSection(config));
  EXPECT_EQ(RowsPerEnv(config), 2);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(config, 2, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ((*batch)->size(), 4) << "2 envs x 2 agents";
  EXPECT_EQ((*batch)->spec().name, "Glitch-v0");
  EXPECT_EQ((*batch)->spec().state_dim, 1);

  std::vector<float> obs(4), final_obs(4), rewards(4), final_states(4, -1);
  std::vector<uint8_t> terminated(4), truncated(4), masked(4);
  std::vector<EnvFailure> failures;
  EnvBatchOutput out{reinterpret_cast<uint8_t*>(obs.data()), reinterpret_cast<uint8_t*>(final_obs.data()),
                     rewards.data(), terminated.data(), truncated.data(), masked.data(), &failures};
  ASSERT_TRUE((*batch)->Reset(reinterpret_cast<uint8_t*>(obs.data())).ok());
  // Env 0 fine, env 1's agent y pulls the plug.
  const std::vector<float> actions = {0.f, 0.f, 0.f, 0.9f};
  ASSERT_TRUE((*batch)->Step(4, actions.data(), out).ok());
  EXPECT_THAT(obs, ElementsAre(1, 1, 0, 0)) << "env 1 reset: its first observations";
  EXPECT_THAT(rewards, ElementsAre(1, 1, 0, 0));
  ASSERT_EQ(failures.size(), 2u) << "both rows of env 1";
  EXPECT_EQ(failures[0].index, 2);
  EXPECT_EQ(failures[1].index, 3);
  EXPECT_THAT(failures[0].message, HasSubstr("y pulled the plug"));
  // Both go on.
  const std::vector<float> calm(4, 0.f);
  ASSERT_TRUE((*batch)->Step(4, calm.data(), out).ok());
  EXPECT_TRUE(failures.empty());
  EXPECT_THAT(obs, ElementsAre(2, 2, 1, 1));

  // With env.joint_agents, one row per env.
  config.set_joint_agents(true);
  absl::StatusOr<std::unique_ptr<EnvBatch>> joint = MakeEnvBatch(config, 2, 0);
  ASSERT_TRUE(joint.ok()) << joint.status();
  EXPECT_EQ((*joint)->size(), 2);
  EXPECT_EQ((*joint)->spec().joint_agents, 2);
}

TEST(MakeEnvBatchTest, AnUnknownEnvIsNotFound) {
  v1::EnvConfig config;
  config.set_name("NoSuchEnv-v0");
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(config, 1, 0);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(batch.status().message(), HasSubstr("NoSuchEnv-v0"));
}

}  // namespace
}  // namespace rill::envs
