// Python multi-agent envs (tests/python/test_envs.py's Tag and Swarm, and
// the misbehaving ones) served by the real Python env server on port 0,
// stepped by envs::RemoteMultiAgentEnvs under both row layouts: a
// heterogeneous env as MADDPG's joint rows (JointAgentsEnvBatch), a
// homogeneous one as shared-policy agent rows (AgentRowsEnvBatch). Agents
// leave mid-episode, spaces round-trip, the global state is read, a bad
// env is a named failure and spaces other than the config's are refused.
// Every case runs over gRPC messages and through the shared region.
#include "envs/remote/remote_multi_agent_envs.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/batch/agent_rows.h"
#include "envs/batch/joint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/env_server_process.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using PythonServer = ::rill::testing::EnvServerProcess;
using Transport = RemoteEnvs::Transport;

// A Step's outputs for `rows` rows of `obs_dim` floats (K agents a row for
// joint rows).
struct Outputs {
  Outputs(int rows, int obs_dim, int agents = 1)
      : observations(static_cast<size_t>(rows) * obs_dim * sizeof(float)),
        final_observations(observations.size()),
        rewards(rows),
        terminated(rows),
        truncated(rows),
        masked(rows),
        agent_rewards(static_cast<size_t>(rows) * agents),
        agent_terminated(static_cast<size_t>(rows) * agents) {
    out.observations = observations.data();
    out.final_observations = final_observations.data();
    out.rewards = rewards.data();
    out.terminated = terminated.data();
    out.truncated = truncated.data();
    out.masked = masked.data();
    out.failures = &failures;
    out.agent_rewards = agent_rewards.data();
    out.agent_terminated = agent_terminated.data();
  }
  float obs(int row, int obs_dim, int d) const {
    float x;
    std::memcpy(&x, &observations[(static_cast<size_t>(row) * obs_dim + d) * sizeof(float)], sizeof(float));
    return x;
  }
  float final_obs(int row, int obs_dim, int d) const {
    float x;
    std::memcpy(&x, &final_observations[(static_cast<size_t>(row) * obs_dim + d) * sizeof(float)], sizeof(float));
    return x;
  }

  std::vector<uint8_t> observations, final_observations;
  std::vector<float> rewards;
  std::vector<uint8_t> terminated, truncated, masked;
  std::vector<float> agent_rewards;
  std::vector<uint8_t> agent_terminated;
  std::vector<EnvFailure> failures;
  EnvBatchOutput out;
};

class RemoteMultiAgentEnvsTest : public ::testing::TestWithParam<Transport> {
 protected:
  // The agents and spaces `server` announces (what `rill envs --remote`
  // prints and a config states).
  MultiAgentSpec Announced(const PythonServer& server) {
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> probe =
        RemoteEnvs::Open(server.address(), 1, 0, absl::Seconds(30), Transport::kGrpc);
    EXPECT_TRUE(probe.ok()) << probe.status() << server.log();
    if (!probe.ok()) return {};
    EXPECT_TRUE((*probe)->multi_agent());
    return (*probe)->multi_agent_spec();
  }

  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> Open(const PythonServer& server, int num_envs,
                                                             MultiAgentSpec spec) {
    RemoteMultiAgentEnvs::Options options;
    options.address = server.address();
    options.num_envs = num_envs;
    options.spec = std::move(spec);
    options.reconnect_seconds = 30;
    options.transport = GetParam();
    return RemoteMultiAgentEnvs::Create(std::move(options));
  }
};

TEST_P(RemoteMultiAgentEnvsTest, AnnouncesEachAgentsOwnSpaces) {
  PythonServer server("test_envs:tag");
  const MultiAgentSpec spec = Announced(server);
  EXPECT_EQ(spec.agents, (std::vector<std::string>{"runner", "chaser"}));
  ASSERT_EQ(spec.agent_specs.size(), 2u);
  EXPECT_EQ(spec.agent_specs[0].observation_shape, std::vector<int64_t>{3});
  EXPECT_TRUE(spec.agent_specs[0].discrete);
  EXPECT_EQ(spec.agent_specs[0].num_actions, 4);
  EXPECT_EQ(spec.agent_specs[1].observation_shape, (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE(spec.agent_specs[1].discrete);
  EXPECT_EQ(spec.agent_specs[1].action_low, (std::vector<float>{-1, -1}));
  EXPECT_EQ(spec.state_shape, std::vector<int64_t>{2});
  EXPECT_FALSE(spec.homogeneous());
}

// Tag as joint rows: row = [runner obs 3 | chaser obs 4]; action = [runner
// one-hot 4 | chaser box 2]. The runner leaves at step 3, the episode ends
// at step 5.
TEST_P(RemoteMultiAgentEnvsTest, HeterogeneousAgentsStepAsJointRowsAndLeaveMidEpisode) {
  PythonServer server("test_envs:tag");
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = Open(server, 2, Announced(server));
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> batch = JointAgentsEnvBatch::CreateOver(*std::move(envs));
  ASSERT_TRUE(batch.ok()) << batch.status();
  JointAgentsEnvBatch& joint = **batch;
  ASSERT_EQ(joint.size(), 2);
  ASSERT_EQ(joint.spec().obs_dim(), 7);
  ASSERT_EQ(joint.spec().action_dim(), 6);
  Outputs o(2, 7, 2);
  ASSERT_TRUE(joint.Reset(o.observations.data()).ok());
  EXPECT_EQ(o.obs(0, 7, 1), -1.f);  // the runner's "last action" before any
  // Row 0: runner plays 2 (one-hot), chaser (0.5, -0.25); row 1: 3, (0, 1).
  const std::vector<float> actions = {-1, -1, 1, -1, 0.5f, -0.25f, -1, -1, -1, 1, 0, 1};
  for (int t = 1; t <= 5; ++t) {
    absl::StatusOr<int> stepped = joint.Step(2, actions.data(), o.out);
    ASSERT_TRUE(stepped.ok()) << stepped.status();
    ASSERT_TRUE(o.failures.empty()) << o.failures[0].message;
    if (t <= 3) {
      EXPECT_EQ(o.obs(0, 7, 0), t);
      EXPECT_EQ(o.obs(0, 7, 1), 2.f);  // the runner's discrete action arrived
      EXPECT_EQ(o.obs(1, 7, 1), 3.f);
      EXPECT_THAT(o.agent_rewards, ElementsAre(1, 2, 1, 2));
    } else {
      // The runner left: its reward 0, counted as terminated.
      EXPECT_THAT(o.agent_rewards, ElementsAre(0, 2, 0, 2));
      const uint8_t chaser_ended = t == 5 ? 1 : 0;
      EXPECT_THAT(o.agent_terminated, ElementsAre(1, chaser_ended, 1, chaser_ended));
    }
    if (t < 5) {
      EXPECT_EQ(o.obs(0, 7, 3), t);
      EXPECT_EQ(o.obs(0, 7, 4), 0.5f);  // the chaser's box action arrived
      EXPECT_EQ(o.obs(0, 7, 5), -0.25f);
      EXPECT_EQ(o.terminated[0], 0);
      float state[2];
      joint.envs().State(0, state);
      EXPECT_EQ(state[0], t);
      EXPECT_EQ(state[1], t < 3 ? 2 : 1);
    }
    EXPECT_EQ(o.masked[0], 0);
  }
  // Step 5 ended the episode: terminated, the joint final observation the
  // runner's at step 3 and the chaser's at step 5; the row starts over.
  EXPECT_EQ(o.terminated[0], 1);
  EXPECT_EQ(o.truncated[0], 0);
  EXPECT_EQ(o.final_obs(0, 7, 0), 3.f);
  EXPECT_EQ(o.final_obs(0, 7, 3), 5.f);
  EXPECT_EQ(o.obs(0, 7, 0), 0.f);
  EXPECT_EQ(o.obs(0, 7, 2), 2.f);  // its second reset
}

// Each stepped env's state right after its step comes over the wire:
// Tag's state is [t, agents live]; the env that ended at step 5 reports the
// state it ended in ([5, 0]), though it is reset to [0, 2] in that step.
TEST_P(RemoteMultiAgentEnvsTest, AnEndedEnvsFinalStateIsTheOneBeforeItsReset) {
  PythonServer server("test_envs:tag");
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> opened = Open(server, 2, Announced(server));
  ASSERT_TRUE(opened.ok()) << opened.status() << server.log();
  RemoteMultiAgentEnvs& envs = **opened;
  ASSERT_EQ(envs.spec().state_dim(), 2);
  const int n = 2, k = 2, width = 7;
  std::vector<float> observations(n * width), final_observations(n * width), rewards(n * k);
  std::vector<float> final_states(n * 2, -1.f);
  std::vector<uint8_t> terminated(n * k), truncated(n * k), acted(n * k), episode_ended(n);
  std::vector<EnvFailure> failures;
  MultiAgentEnvsOutput out;
  out.observations = observations.data();
  out.final_observations = final_observations.data();
  out.rewards = rewards.data();
  out.terminated = terminated.data();
  out.truncated = truncated.data();
  out.acted = acted.data();
  out.episode_ended = episode_ended.data();
  out.failures = &failures;
  out.final_states = final_states.data();
  ASSERT_TRUE(envs.Reset(observations.data()).ok());
  // Each agent's slots: the runner's index (as a float), the chaser's box.
  const std::vector<float> actions = {2, 0.5f, -0.25f, 3, 0, 1};
  for (int t = 1; t <= 5; ++t) {
    absl::StatusOr<int> stepped = envs.Step(n, actions.data(), out);
    ASSERT_TRUE(stepped.ok()) << stepped.status();
    ASSERT_TRUE(failures.empty()) << failures[0].message;
    for (int e = 0; e < n; ++e) {
      SCOPED_TRACE(absl::StrCat("step ", t, ", env ", e));
      EXPECT_EQ(final_states[e * 2], t);
      EXPECT_EQ(final_states[e * 2 + 1], t < 3 ? 2 : t < 5 ? 1 : 0);
      EXPECT_EQ(episode_ended[e], t == 5 ? 1 : 0);
      float state[2];
      envs.State(e, state);
      EXPECT_EQ(state[0], t < 5 ? t : 0);  // reset at step 5
    }
  }
}

// Swarm as agent rows: 2 envs x 3 agents of one space; agent k truncated
// after step k + 2 and masked after it.
TEST_P(RemoteMultiAgentEnvsTest, HomogeneousAgentsStepAsAgentRowsMaskedOnceTheyLeave) {
  PythonServer server("test_envs:swarm");
  MultiAgentSpec spec = Announced(server);
  ASSERT_TRUE(spec.homogeneous());
  EnvSpec row = spec.agent_specs[0];
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = Open(server, 2, spec);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> batch = AgentRowsEnvBatch::CreateOver(row, *std::move(envs));
  ASSERT_TRUE(batch.ok()) << batch.status();
  AgentRowsEnvBatch& rows = **batch;
  ASSERT_EQ(rows.size(), 6);
  Outputs o(6, 3);
  ASSERT_TRUE(rows.Reset(o.observations.data()).ok());
  EXPECT_EQ(o.obs(4, 3, 1), 1.f);  // env 1's agent_1
  const std::vector<float> actions(6, 1.f);
  for (int t = 1; t <= 4; ++t) {
    absl::StatusOr<int> stepped = rows.Step(6, actions.data(), o.out);
    ASSERT_TRUE(stepped.ok()) << stepped.status();
    EXPECT_EQ(*stepped, 6);
    ASSERT_TRUE(o.failures.empty());
    for (int i = 0; i < 6; ++i) {
      const int k = i % 3;
      const bool acted = t <= k + 2;
      EXPECT_EQ(o.masked[i], acted ? 0 : 1) << "t " << t << " row " << i;
      EXPECT_EQ(o.rewards[i], acted ? 1.f : 0.f) << "t " << t << " row " << i;
      EXPECT_EQ(o.truncated[i], t == k + 2 ? 1 : 0) << "t " << t << " row " << i;
      if (t == k + 2) {
        EXPECT_EQ(o.final_obs(i, 3, 0), t) << "row " << i;
      }
    }
  }
  // Step 4 ended every env: every row live again at its first observation.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(o.obs(i, 3, 0), 0.f);
}

TEST_P(RemoteMultiAgentEnvsTest, AMisbehavingEnvIsAFailureNamingItsAgentAndGoesOn) {
  PythonServer server("test_envs:omits_live_agent");
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = Open(server, 2, Announced(server));
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> batch = JointAgentsEnvBatch::CreateOver(*std::move(envs));
  ASSERT_TRUE(batch.ok()) << batch.status();
  Outputs o(2, 7, 2);
  ASSERT_TRUE((*batch)->Reset(o.observations.data()).ok());
  const std::vector<float> actions(12, 0.f);
  ASSERT_TRUE((*batch)->Step(2, actions.data(), o.out).ok());
  EXPECT_TRUE(o.failures.empty());
  ASSERT_TRUE((*batch)->Step(2, actions.data(), o.out).ok());  // the second step leaves out the runner
  ASSERT_EQ(o.failures.size(), 2u);
  EXPECT_EQ(o.failures[0].index, 0);
  EXPECT_EQ(o.failures[1].index, 1);
  EXPECT_THAT(o.failures[0].message, HasSubstr("agent runner: agents:"));
  EXPECT_THAT(o.failures[0].message, HasSubstr("leaves out live agent runner"));
  EXPECT_EQ(o.rewards[0], 0.f);
  EXPECT_EQ(o.truncated[0], 1);
  EXPECT_EQ(o.obs(0, 7, 2), 2.f);  // reset: its second episode
  ASSERT_TRUE((*batch)->Step(2, actions.data(), o.out).ok());
  EXPECT_TRUE(o.failures.empty());
}

TEST_P(RemoteMultiAgentEnvsTest, AgentsOrSpacesOtherThanTheConfigsAreRefusedByName) {
  PythonServer server("test_envs:tag");
  MultiAgentSpec spec = Announced(server);
  spec.agent_specs[1].observation_shape = {5};
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = Open(server, 1, spec);
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(envs.status().message(), HasSubstr("agent chaser: observations float32 [2, 2]"));
  spec = Announced(server);
  spec.agents[0] = "hider";
  envs = Open(server, 1, spec);
  ASSERT_FALSE(envs.ok());
  EXPECT_THAT(envs.status().message(), HasSubstr("agents [runner, chaser], the config says [hider, chaser]"));
}

TEST_P(RemoteMultiAgentEnvsTest, ASingleAgentServerIsRefused) {
  PythonServer server("test_envs:counter");
  MultiAgentSpec spec;
  spec.agents = {"a"};
  spec.agent_specs = {EnvSpec{}};
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = Open(server, 1, spec);
  ASSERT_FALSE(envs.ok());
  EXPECT_THAT(envs.status().message(), HasSubstr("serves single-agent envs"));
}

INSTANTIATE_TEST_SUITE_P(Transports, RemoteMultiAgentEnvsTest,
                         ::testing::Values(Transport::kGrpc, Transport::kSharedMemoryWhenLocal),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kGrpc ? "Grpc" : "SharedMemory";
                         });

}  // namespace
}  // namespace rill::envs
