// The C++ EnvService server's multi-agent streams on port 0, against
// envs::RemoteMultiAgentEnvs (the actors' client) and against raw streams:
// the opened answer lists the registry's agents, spaces and state (a
// heterogeneous env's too); the served envs step as the same seeded envs
// stepped in-process by LocalMultiAgentEnvs, through episode ends, agents
// that leave and envs that fail; a bad action is named with its agent
// while the stream goes on (a NaN one ends the stream naming both, as the
// Python server does); a render draws the env as in-process; and row
// control is refused by name.
#include "envs/remote/multi_agent_server_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "envs/remote/raw_env_stream.h"
#include "envs/batch/local_multi_agent_envs.h"
#include "envs/batch/test_multi_agent_env.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/env_server.h"
#include "envs/remote/remote_envs.h"
#include "envs/remote/remote_multi_agent_envs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(30);
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

MultiAgentEnvFactory Registered(const std::string& name) {
  return [name](uint64_t seed) { return MakeMultiAgentEnv(name, 0, seed); };
}

MultiAgentEnvFactory FaultyPlugin(const std::string& id) {
  v1::PluginEnvConfig config;
  config.set_library(
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/envs/plugin/testdata/libfaulty_multi_agent_plugin.so"));
  config.set_id(id);
  return [config](uint64_t seed) { return MakePluginMultiAgentEnv(config, 0, seed); };
}

// LeaveEnv (envs/batch/test_multi_agent_env.h): agent k leaves at step
// lengths[k] and observes widths[k] floats.
MultiAgentEnvFactory Leaving(std::vector<int> lengths, std::vector<int> widths) {
  return [lengths, widths](uint64_t) -> absl::StatusOr<std::unique_ptr<MultiAgentEnv>> {
    return std::make_unique<LeaveEnv>(lengths, widths);
  };
}

// Two agents, "left" and "right", each Box [-1, 1] of 1 observing one
// float, with a state of one float, whose outputs go bad on request:
// left's action above 0.5 gives right a NaN observation, below -0.5 a NaN
// reward; right's action above 0.5 makes the state NaN. Seeded 7, its
// resets give right a NaN observation. A C++ env, so the server's own
// checks see them (a plugin's wrapper turns them into Step errors).
class NanEnv final : public MultiAgentEnv {
 public:
  static MultiAgentSpec Spec() {
    MultiAgentSpec spec;
    spec.name = "Nan-v0";
    EnvSpec agent;
    agent.name = spec.name;
    agent.observation_shape = {1};
    agent.action_low = {-1.f};
    agent.action_high = {1.f};
    agent.max_episode_steps = 10;
    spec.agents = {"left", "right"};
    spec.agent_specs = {agent, agent};
    spec.state_shape = {1};
    spec.max_episode_steps = 10;
    return spec;
  }
  explicit NanEnv(uint64_t seed) : MultiAgentEnv(Spec()), seed_(seed) {}

  void Reset(float* const* obs) override {
    StartEpisode();
    steps_ = 0;
    nan_state_ = false;
    obs[0][0] = 0.f;
    obs[1][0] = seed_ == 7 ? kNan : 0.f;
  }
  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) override {
    if (absl::Status checked = CheckStep(actions); !checked.ok()) return checked;
    ++steps_;
    for (int k = 0; k < 2; ++k) {
      next_obs[k][0] = static_cast<float>(steps_);
      results[k] = StepResult{1.f, false, false};
    }
    if (actions[0][0] > 0.5f) next_obs[1][0] = kNan;
    if (actions[0][0] < -0.5f) results[1].reward = kNan;
    nan_state_ = actions[1][0] > 0.5f;
    EndStep(results);
    return absl::OkStatus();
  }
  void State(float* state) const override { state[0] = nan_state_ ? kNan : static_cast<float>(steps_); }

 private:
  const uint64_t seed_;
  int steps_ = 0;
  bool nan_state_ = false;
};

MultiAgentEnvFactory Nans() {
  return [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<MultiAgentEnv>> { return std::make_unique<NanEnv>(seed); };
}

std::unique_ptr<EnvServer> Serve(MultiAgentEnvFactory factory) {
  absl::StatusOr<std::unique_ptr<EnvServer>> server = EnvServer::StartMultiAgent("127.0.0.1:0", std::move(factory));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

v1::EnvRequest Open(int num_envs, uint64_t first_seed = 100) {
  v1::EnvRequest request;
  request.mutable_open()->set_num_envs(num_envs);
  for (int i = 0; i < num_envs; ++i) request.mutable_open()->add_seeds(first_seed + i);
  return request;
}

// A step of [num_envs, width] float32 actions.
v1::EnvRequest Step(int num_envs, int width, const std::vector<float>& values) {
  v1::EnvRequest request;
  v1::Tensor* actions = request.mutable_step()->mutable_actions();
  actions->set_dtype(v1::DTYPE_FLOAT32);
  actions->add_shape(num_envs);
  actions->add_shape(width);
  actions->set_data(values.data(), values.size() * sizeof(float));
  return request;
}

// The stepped answer to `request` (empty, and a test failure, when the
// stream ended instead).
v1::EnvsStepped Stepped(RawEnvStream& stream, const v1::EnvRequest& request) {
  v1::EnvResponse response;
  EXPECT_TRUE(stream.Call(request, &response));
  EXPECT_TRUE(response.has_stepped());
  return response.stepped();
}

template <typename T>
std::vector<T> Values(const v1::Tensor& tensor) {
  std::vector<T> values(tensor.data().size() / sizeof(T));
  std::memcpy(values.data(), tensor.data().data(), values.size() * sizeof(T));
  return values;
}

std::vector<int64_t> Shape(const v1::Tensor& tensor) { return {tensor.shape().begin(), tensor.shape().end()}; }

// The stream opened with `open` then sent `bad` ends with `code`, its
// message containing `names`.
void ExpectStreamEnds(const std::string& address, const v1::EnvRequest& open, const v1::EnvRequest& bad,
                      grpc::StatusCode code, const std::string& names) {
  RawEnvStream stream(address);
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(open, &response));
  ASSERT_TRUE(response.has_opened());
  EXPECT_FALSE(stream.Call(bad, &response));
  const grpc::Status status = stream.Finish();
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(names));
}

// ---- The opened answer.

// Opens 2 envs of the registry's `name` and checks the answer against
// LookupMultiAgentSpec: the env, its time limit, each agent's name and
// spaces in order, the state's shape, and the first observations, live
// masks and states of every env.
void ExpectOpenedAsTheRegistry(const std::string& name) {
  absl::StatusOr<MultiAgentSpec> spec = LookupMultiAgentSpec(name);
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::unique_ptr<EnvServer> server = Serve(Registered(name));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->env_name(), name);
  EXPECT_EQ(server->max_episode_steps(), spec->max_episode_steps);

  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2), &response));
  ASSERT_TRUE(response.has_opened());
  const v1::EnvsOpened& opened = response.opened();
  EXPECT_EQ(opened.env_id(), name);
  EXPECT_EQ(opened.max_episode_steps(), spec->max_episode_steps);
  EXPECT_FALSE(opened.has_observation_space()) << "a multi-agent env's spaces are its agents'";
  EXPECT_FALSE(opened.has_action_space());
  EXPECT_FALSE(opened.row_control());
  EXPECT_FALSE(opened.has_shared_memory());
  ASSERT_EQ(opened.agents_size(), spec->num_agents());
  int obs_width = 0;
  for (int k = 0; k < spec->num_agents(); ++k) {
    const v1::AgentSpaces& agent = opened.agents(k);
    const EnvSpec& want = spec->agent_specs[k];
    EXPECT_EQ(agent.name(), spec->agents[k]);
    ASSERT_TRUE(agent.observation_space().has_box());
    EXPECT_EQ(std::vector<int64_t>(agent.observation_space().box().shape().begin(),
                                   agent.observation_space().box().shape().end()),
              want.observation_shape)
        << agent.name();
    EXPECT_EQ(agent.observation_space().box().dtype(), v1::DTYPE_FLOAT32);
    ASSERT_EQ(agent.action_space().has_discrete(), want.discrete) << agent.name();
    if (want.discrete) {
      EXPECT_EQ(agent.action_space().discrete().n(), want.num_actions);
    }
    obs_width += want.obs_dim();
  }
  EXPECT_EQ(std::vector<int64_t>(opened.state_space().shape().begin(), opened.state_space().shape().end()),
            spec->state_shape);
  EXPECT_EQ(opened.state_space().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(Shape(opened.observations()), ElementsAre(2, obs_width));
  EXPECT_EQ(opened.observations().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(Shape(opened.live()), ElementsAre(2, spec->num_agents()));
  EXPECT_THAT(Values<uint8_t>(opened.live()), ::testing::Each(1)) << "every agent is live after a reset";
  EXPECT_THAT(Shape(opened.states()), ElementsAre(2, spec->state_dim()));
  EXPECT_TRUE(opened.errors().empty());

  // What the actors' client reads from it is the registry's spec.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> remote =
      RemoteEnvs::Open(server->address(), 1, 0, kTimeout, RemoteEnvs::Transport::kGrpc);
  ASSERT_TRUE(remote.ok()) << remote.status();
  ASSERT_TRUE((*remote)->multi_agent());
  EXPECT_EQ(RemoteMultiAgentEnvs::Difference((*remote)->multi_agent_spec(), *spec), std::nullopt);
  EXPECT_FALSE((*remote)->row_control());
}

TEST(MultiAgentServerBatchTest, OpenedListsCooperativeNavigationsAgentsSpacesAndStateAsTheRegistry) {
  ExpectOpenedAsTheRegistry("CooperativeNavigation-v0");
}

TEST(MultiAgentServerBatchTest, OpenedListsPredatorsAndPreyWithTheirOwnSpaces) {
  absl::StatusOr<MultiAgentSpec> spec = LookupMultiAgentSpec("PredatorPrey-v0");
  ASSERT_TRUE(spec.ok());
  ASSERT_FALSE(spec->homogeneous()) << "predators observe the prey's velocity, the prey does not";
  ExpectOpenedAsTheRegistry("PredatorPrey-v0");
}

TEST(MultiAgentServerBatchTest, OpenedListsABoxAgentsBounds) {
  std::unique_ptr<EnvServer> server = Serve(FaultyPlugin("Glitch-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(1), &response));
  ASSERT_EQ(response.opened().agents_size(), 2);
  const v1::BoxSpace& action = response.opened().agents(1).action_space().box();
  EXPECT_THAT(action.shape(), ElementsAre(1));
  EXPECT_EQ(action.dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(action.low(), ElementsAre(-1.f));
  EXPECT_THAT(action.high(), ElementsAre(1.f));
  EXPECT_EQ(response.opened().max_episode_steps(), 20);
}

// ---- Stepping as in-process.

// A MultiAgentEnvs::Step's outputs for `envs`.
struct Outputs {
  explicit Outputs(const MultiAgentEnvs& envs)
      : observations(static_cast<size_t>(envs.size()) * envs.obs_width()),
        final_observations(observations.size(), -1.f),
        rewards(static_cast<size_t>(envs.size()) * envs.num_agents()),
        terminated(rewards.size()),
        truncated(rewards.size()),
        acted(rewards.size()),
        episode_ended(envs.size()),
        final_states(static_cast<size_t>(envs.size()) * envs.spec().state_dim(), -1.f) {
    out.observations = observations.data();
    out.final_observations = final_observations.data();
    out.rewards = rewards.data();
    out.terminated = terminated.data();
    out.truncated = truncated.data();
    out.acted = acted.data();
    out.episode_ended = episode_ended.data();
    out.failures = &failures;
    out.final_states = final_states.data();
  }

  std::vector<float> observations, final_observations, rewards;
  std::vector<uint8_t> terminated, truncated, acted, episode_ended;
  std::vector<float> final_states;
  std::vector<EnvFailure> failures;
  MultiAgentEnvsOutput out;
};

// Whether two float buffers hold the same bits (NaN-safe).
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// What the comparison saw.
struct Seen {
  int episode_ends = 0;  // envs whose last agent ended
  int agents_left = 0;   // agents not live while their env went on
  int failures = 0;      // envs failed (named by the server)
};

// Steps `factory`'s env served (RemoteMultiAgentEnvs, the actors' client)
// and in this process (LocalMultiAgentEnvs over the same factory, env i
// seeded as the client seeds it) with the same random actions for `steps`
// steps, `bad_action` (when given) writing some of them out of range or
// into trouble, and expects every output the same, step for step.
Seen ExpectStepsAsInProcess(const MultiAgentEnvFactory& factory, int num_envs, int steps,
                            const std::function<void(int t, std::vector<float>*)>& bad_action = nullptr) {
  Seen seen;
  std::unique_ptr<EnvServer> server = Serve(factory);
  if (server == nullptr) return seen;
  constexpr uint64_t kBaseSeed = 40;
  absl::StatusOr<std::unique_ptr<MultiAgentEnv>> probe = factory(0);
  EXPECT_TRUE(probe.ok());
  if (!probe.ok()) return seen;
  RemoteMultiAgentEnvs::Options options;
  options.address = server->address();
  options.num_envs = num_envs;
  options.base_seed = kBaseSeed;
  options.spec = (*probe)->spec();
  options.reconnect_seconds = 10;
  options.transport = RemoteEnvs::Transport::kGrpc;
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> remote = RemoteMultiAgentEnvs::Create(options);
  EXPECT_TRUE(remote.ok()) << remote.status();
  if (!remote.ok()) return seen;
  std::vector<std::unique_ptr<MultiAgentEnv>> made;
  for (int i = 0; i < num_envs; ++i) {
    absl::StatusOr<std::unique_ptr<MultiAgentEnv>> env = factory(kBaseSeed + i + 1);
    EXPECT_TRUE(env.ok()) << env.status();
    if (!env.ok()) return seen;
    made.push_back(*std::move(env));
  }
  absl::StatusOr<std::unique_ptr<LocalMultiAgentEnvs>> local =
      LocalMultiAgentEnvs::Create(std::move(made), LocalMultiAgentEnvs::StepErrors::kFailEnv);
  EXPECT_TRUE(local.ok()) << local.status();
  if (!local.ok()) return seen;
  MultiAgentEnvs& a = **remote;
  MultiAgentEnvs& b = **local;
  const MultiAgentSpec& spec = a.spec();
  const int agents = spec.num_agents();
  const int state_dim = spec.state_dim();

  Outputs served(a), in_process(b);
  EXPECT_TRUE(a.Reset(served.observations.data()).ok());
  EXPECT_TRUE(b.Reset(in_process.observations.data()).ok());
  EXPECT_TRUE(SameBits(served.observations, in_process.observations)) << "first observations";
  std::vector<float> state_a(state_dim), state_b(state_dim);
  std::mt19937_64 rng(3);
  std::vector<float> actions(static_cast<size_t>(num_envs) * a.action_width());
  for (int t = 0; t < steps; ++t) {
    const std::string at = absl::StrCat("step ", t);
    for (int e = 0; e < num_envs; ++e) {
      if (state_dim > 0) {
        a.State(e, state_a.data());
        b.State(e, state_b.data());
        EXPECT_TRUE(SameBits(state_a, state_b)) << at << " env " << e;
      }
      for (int k = 0; k < agents; ++k) {
        EXPECT_EQ(a.live(e, k), b.live(e, k)) << at << " env " << e << " agent " << k;
        const EnvSpec& agent = spec.agent_specs[k];
        float* slot = &actions[static_cast<size_t>(e) * a.action_width() + a.action_offset(k)];
        if (!a.live(e, k)) {
          // A left agent's slot is ignored: even a NaN.
          std::fill_n(slot, agent.discrete ? 1 : agent.action_dim(), kNan);
          continue;
        }
        if (agent.discrete) {
          slot[0] = static_cast<float>(std::uniform_int_distribution<int>(0, agent.num_actions - 1)(rng));
          continue;
        }
        for (int j = 0; j < agent.action_dim(); ++j) {
          slot[j] = std::uniform_real_distribution<float>(agent.action_low[j], agent.action_high[j])(rng);
        }
      }
    }
    if (bad_action) bad_action(t, &actions);
    absl::StatusOr<int> stepped_a = a.Step(num_envs, actions.data(), served.out);
    absl::StatusOr<int> stepped_b = b.Step(num_envs, actions.data(), in_process.out);
    EXPECT_TRUE(stepped_a.ok()) << stepped_a.status();
    EXPECT_TRUE(stepped_b.ok()) << stepped_b.status();
    if (!stepped_a.ok() || !stepped_b.ok()) return seen;
    EXPECT_TRUE(SameBits(served.observations, in_process.observations)) << at;
    EXPECT_TRUE(SameBits(served.rewards, in_process.rewards)) << at;
    EXPECT_EQ(served.terminated, in_process.terminated) << at;
    EXPECT_EQ(served.truncated, in_process.truncated) << at;
    EXPECT_EQ(served.acted, in_process.acted) << at;
    EXPECT_EQ(served.episode_ended, in_process.episode_ended) << at;
    EXPECT_TRUE(SameBits(served.final_observations, in_process.final_observations)) << at;
    EXPECT_EQ(served.failures.size(), in_process.failures.size()) << at;
    for (size_t f = 0; f < std::min(served.failures.size(), in_process.failures.size()); ++f) {
      EXPECT_EQ(served.failures[f].index, in_process.failures[f].index) << at;
    }
    seen.failures += static_cast<int>(served.failures.size());
    // Each env's state after its step (a failed env's is its client's
    // business: the served one holds its reset's, the local one nothing).
    for (int e = 0; e < num_envs; ++e) {
      const bool failed = std::any_of(served.failures.begin(), served.failures.end(),
                                      [e](const EnvFailure& failure) { return failure.index == e; });
      if (failed || state_dim == 0) continue;
      const size_t row = static_cast<size_t>(e) * state_dim;
      EXPECT_TRUE(
          std::equal(&served.final_states[row], &served.final_states[row] + state_dim, &in_process.final_states[row]))
          << at << " env " << e;
    }
    for (int e = 0; e < num_envs; ++e) {
      seen.episode_ends += served.episode_ended[e];
      if (served.episode_ended[e] != 0) continue;
      for (int k = 0; k < agents; ++k) seen.agents_left += a.live(e, k) ? 0 : 1;
    }
  }
  return seen;
}

TEST(MultiAgentServerBatchTest, ServedCooperativeNavigationStepsAsInProcessThroughEpisodeEnds) {
  const Seen seen = ExpectStepsAsInProcess(Registered("CooperativeNavigation-v0"), 3, 60);
  EXPECT_EQ(seen.episode_ends, 6) << "each env truncated at steps 25 and 50";
  EXPECT_EQ(seen.failures, 0);
}

TEST(MultiAgentServerBatchTest, ServedPredatorPreyStepsAsInProcessWithItsHeterogeneousAgents) {
  const Seen seen = ExpectStepsAsInProcess(Registered("PredatorPrey-v0"), 2, 30);
  EXPECT_EQ(seen.episode_ends, 2);
}

TEST(MultiAgentServerBatchTest, ServedPongDuelStepsAsInProcessThroughItsTerminations) {
  const Seen seen = ExpectStepsAsInProcess(Registered("PongDuel-v0"), 4, 300);
  EXPECT_GT(seen.episode_ends, 0);
  EXPECT_EQ(seen.failures, 0);
}

TEST(MultiAgentServerBatchTest, AgentsThatLeaveStepAsInProcessAndTheirEnvResetsWhenTheLastLeaves) {
  // Agents of 1, 3 and 2 floats, leaving at steps 2 (3 in an env of an odd
  // seed: the envs' agents leave apart), 5 and 3.
  const MultiAgentEnvFactory staggered = [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<MultiAgentEnv>> {
    return std::make_unique<LeaveEnv>(std::vector<int>{2 + static_cast<int>(seed % 2), 5, 3},
                                      std::vector<int>{1, 3, 2});
  };
  const Seen seen = ExpectStepsAsInProcess(staggered, 2, 12);
  EXPECT_EQ(seen.episode_ends, 4) << "every env ends at steps 5 and 10";
  EXPECT_GT(seen.agents_left, 0);
}

TEST(MultiAgentServerBatchTest, APluginsAgentsThatLeaveStepAsInProcess) {
  // Countdown-v0: agents a, b, c leave at steps 1, 2 and 3, and its step
  // fails when given an action for an agent that left: the NaN the
  // comparison writes in a left agent's slot never reaches it.
  const Seen seen = ExpectStepsAsInProcess(FaultyPlugin("Countdown-v0"), 2, 9);
  EXPECT_EQ(seen.episode_ends, 6);
  EXPECT_GT(seen.agents_left, 0);
  EXPECT_EQ(seen.failures, 0);
}

TEST(MultiAgentServerBatchTest, EnvsThatFailTheirStepFailAsInProcessAndGoOn) {
  // Glitch-v0: y's action above 0.5 fails the step; x's above 0.5 or below
  // -0.5 gives y a NaN observation or reward; y's below -0.5 a NaN state
  // (the next step's failure). Random actions do each of these often.
  const Seen seen = ExpectStepsAsInProcess(FaultyPlugin("Glitch-v0"), 3, 40);
  EXPECT_GT(seen.failures, 10);
}

TEST(MultiAgentServerBatchTest, AnOutOfRangeIndexFailsItsEnvAsInProcess) {
  // Env 1's prey (the last agent of PredatorPrey) asks for action 5 of 5
  // at steps 3 and 7.
  const Seen seen =
      ExpectStepsAsInProcess(Registered("PredatorPrey-v0"), 2, 10, [](int t, std::vector<float>* actions) {
        if (t == 3 || t == 7) (*actions)[2 * 4 - 1] = 5.f;
      });
  EXPECT_EQ(seen.failures, 2);
}

// ---- The wire, step by step.

TEST(MultiAgentServerBatchTest, AnAgentThatLeftKeepsItsLastObservationAndTheEnvResetsWhenTheLastLeaves) {
  // agent_0 (1 float) leaves at step 1, agent_1 (2 floats) at step 3.
  std::unique_ptr<EnvServer> server = Serve(Leaving({1, 3}, {1, 2}));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(1), &response));
  EXPECT_THAT(Values<float>(response.opened().observations()), ElementsAre(100, 110, 111));
  EXPECT_THAT(Values<float>(response.opened().states()), ElementsAre(0));

  v1::EnvsStepped stepped = Stepped(stream, Step(1, 2, {0, 1}));
  EXPECT_THAT(Values<float>(stepped.observations()), ElementsAre(1, 11, 12));
  EXPECT_THAT(Values<float>(stepped.rewards()), ElementsAre(1, 2));
  EXPECT_THAT(Values<uint8_t>(stepped.terminated()), ElementsAre(1, 0));
  EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ElementsAre(0, 0));
  EXPECT_THAT(Values<uint8_t>(stepped.live()), ElementsAre(0, 1)) << "agent_0 left";
  EXPECT_THAT(Shape(stepped.live()), ElementsAre(1, 2));
  EXPECT_THAT(Values<float>(stepped.states()), ElementsAre(1));
  EXPECT_TRUE(stepped.final_indices().empty());
  EXPECT_THAT(Shape(stepped.final_observations()), ElementsAre(0, 3));

  // agent_0's slot holds a NaN: it left, so no one looks.
  stepped = Stepped(stream, Step(1, 2, {kNan, 1}));
  EXPECT_THAT(Values<float>(stepped.observations()), ElementsAre(1, 12, 13)) << "agent_0 keeps what it ended on";
  EXPECT_THAT(Values<float>(stepped.rewards()), ElementsAre(0, 2));
  EXPECT_THAT(Values<uint8_t>(stepped.terminated()), ElementsAre(0, 0));
  EXPECT_THAT(Values<uint8_t>(stepped.live()), ElementsAre(0, 1));
  EXPECT_TRUE(stepped.errors().empty());

  stepped = Stepped(stream, Step(1, 2, {kNan, 0}));
  EXPECT_THAT(stepped.final_indices(), ElementsAre(0)) << "its last agent left";
  EXPECT_THAT(Values<float>(stepped.final_observations()), ElementsAre(1, 13, 14));
  EXPECT_THAT(Values<float>(stepped.final_states()), ElementsAre(3));
  EXPECT_THAT(Values<uint8_t>(stepped.terminated()), ElementsAre(0, 1));
  EXPECT_THAT(Values<float>(stepped.observations()), ElementsAre(200, 210, 211)) << "the next episode's first";
  EXPECT_THAT(Values<uint8_t>(stepped.live()), ElementsAre(1, 1));
  EXPECT_THAT(Values<float>(stepped.states()), ElementsAre(0));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(MultiAgentServerBatchTest, TheTimeLimitTruncatesEveryLiveAgent) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CooperativeNavigation-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2), &response));
  for (int t = 1; t < 25; ++t) ASSERT_TRUE(stream.Call(Step(2, 3, std::vector<float>(6, 0.f)), &response));
  EXPECT_TRUE(response.stepped().final_indices().empty());
  const v1::EnvsStepped stepped = Stepped(stream, Step(2, 3, std::vector<float>(6, 0.f)));
  EXPECT_THAT(stepped.final_indices(), ElementsAre(0, 1)) << "both truncated at step 25";
  EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ::testing::Each(1));
  EXPECT_THAT(Values<uint8_t>(stepped.terminated()), ::testing::Each(0));
  EXPECT_THAT(Shape(stepped.final_states()), ElementsAre(2, 18));
}

TEST(MultiAgentServerBatchTest, ADiscreteActionOutOfRangeIsNamedWithItsAgentAndItsEnvResetWhileTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(Registered("PredatorPrey-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2), &response));
  // Env 1's prey (agent_0, the last slot) asks for action 5 of Discrete(5);
  // env 0's adversary_1 for 1.5.
  const v1::EnvsStepped stepped = Stepped(stream, Step(2, 4, {0, 1.5f, 0, 0, 0, 0, 0, 5}));
  ASSERT_EQ(stepped.errors_size(), 2);
  EXPECT_EQ(stepped.errors(0).env_index(), 0);
  EXPECT_EQ(stepped.errors(0).field(), "action");
  EXPECT_EQ(stepped.errors(0).agent(), "adversary_1");
  EXPECT_EQ(stepped.errors(0).message(), "action 1.5 is outside Discrete(5)");
  EXPECT_EQ(stepped.errors(1).env_index(), 1);
  EXPECT_EQ(stepped.errors(1).agent(), "agent_0");
  EXPECT_EQ(stepped.errors(1).message(), "action 5.0 is outside Discrete(5)");
  EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ::testing::Each(1)) << "every agent of a failed env";
  EXPECT_THAT(Values<float>(stepped.rewards()), ::testing::Each(0.f));
  EXPECT_THAT(Values<uint8_t>(stepped.live()), ::testing::Each(1)) << "reset";
  EXPECT_TRUE(stepped.final_indices().empty()) << "a failure is no episode end";

  EXPECT_TRUE(Stepped(stream, Step(2, 4, std::vector<float>(8, 4.f))).errors().empty());
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(MultiAgentServerBatchTest, RemoteMultiAgentEnvsSeesAnOutOfRangeActionAsThatEnvsFailureNamingTheAgent) {
  std::unique_ptr<EnvServer> server = Serve(Registered("PredatorPrey-v0"));
  ASSERT_NE(server, nullptr);
  RemoteMultiAgentEnvs::Options options;
  options.address = server->address();
  options.num_envs = 2;
  options.spec = *LookupMultiAgentSpec("PredatorPrey-v0");
  options.reconnect_seconds = 10;
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> envs = RemoteMultiAgentEnvs::Create(options);
  ASSERT_TRUE(envs.ok()) << envs.status();
  Outputs outputs(**envs);
  ASSERT_TRUE((*envs)->Reset(outputs.observations.data()).ok());
  std::vector<float> actions(8, 0.f);
  actions[7] = 9.f;
  ASSERT_TRUE((*envs)->Step(2, actions.data(), outputs.out).ok());
  ASSERT_EQ(outputs.failures.size(), 1u);
  EXPECT_EQ(outputs.failures[0].index, 1);
  EXPECT_THAT(outputs.failures[0].message, HasSubstr("agent agent_0: action: action 9.0 is outside Discrete(5)"));
  actions[7] = 0.f;
  ASSERT_TRUE((*envs)->Step(2, actions.data(), outputs.out).ok());
  EXPECT_TRUE(outputs.failures.empty());
}

TEST(MultiAgentServerBatchTest, ALiveAgentsNanOrInfiniteActionEndsTheStreamNamingTheEnvAndTheAgent) {
  std::unique_ptr<EnvServer> server = Serve(Registered("PredatorPrey-v0"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(2), Step(2, 4, {0, 0, 0, 0, 0, 0, kNan, 0}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions of env 1 agent adversary_2 hold NaN or infinity");
  std::unique_ptr<EnvServer> glitch = Serve(FaultyPlugin("Glitch-v0"));
  ASSERT_NE(glitch, nullptr);
  ExpectStreamEnds(glitch->address(), Open(1), Step(1, 2, {0, std::numeric_limits<float>::infinity()}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions of env 0 agent y hold NaN or infinity");
}

TEST(MultiAgentServerBatchTest, ActionsOfAnotherDtypeShapeOrSizeEndTheStreamNamingTheField) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CooperativeNavigation-v0"));
  ASSERT_NE(server, nullptr);
  v1::EnvRequest indices;
  v1::Tensor* tensor = indices.mutable_step()->mutable_actions();
  tensor->set_dtype(v1::DTYPE_INT64);
  tensor->add_shape(2);
  tensor->set_data(std::string(16, '\0'));
  ExpectStreamEnds(server->address(), Open(2), indices, grpc::StatusCode::INVALID_ARGUMENT,
                   "step.actions has dtype DTYPE_INT64 and shape [2]; this stream takes DTYPE_FLOAT32 [2, 3]");
  ExpectStreamEnds(server->address(), Open(2), Step(2, 2, std::vector<float>(4, 0.f)),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions has dtype DTYPE_FLOAT32 and shape [2, 2]");
  ExpectStreamEnds(server->address(), Open(2), Step(2, 3, std::vector<float>(5, 0.f)),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions holds 20 bytes");
}

TEST(MultiAgentServerBatchTest, AFailedStepIsNamedByFieldResetAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(FaultyPlugin("Glitch-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2), &response));
  ASSERT_TRUE(stream.Call(Step(2, 2, {0, 0, 0, 0}), &response));
  const v1::EnvsStepped stepped = Stepped(stream, Step(2, 2, {0, 0, 0, 0.9f}));  // env 1's y pulls the plug
  ASSERT_EQ(stepped.errors_size(), 1);
  EXPECT_EQ(stepped.errors(0).env_index(), 1);
  EXPECT_EQ(stepped.errors(0).field(), "step");
  EXPECT_THAT(stepped.errors(0).message(), HasSubstr("y pulled the plug"));
  EXPECT_THAT(Values<float>(stepped.observations()), ElementsAre(2, 2, 0, 0)) << "env 1 reset";
  EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ElementsAre(0, 0, 1, 1));
  EXPECT_THAT(Values<float>(stepped.rewards()), ElementsAre(1, 1, 0, 0));
  EXPECT_THAT(Values<float>(stepped.states()), ElementsAre(2, 0));
  const v1::EnvsStepped next = Stepped(stream, Step(2, 2, {0, 0, 0, 0}));
  EXPECT_TRUE(next.errors().empty());
  EXPECT_THAT(Values<float>(next.observations()), ElementsAre(3, 3, 1, 1));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(MultiAgentServerBatchTest, ANonFiniteObservationRewardOrStateIsNamedByFieldAndAgent) {
  std::unique_ptr<EnvServer> server = Serve(Nans());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(3), &response));
  // Env 0: right's observation NaN; env 1: right's reward; env 2: the state.
  const v1::EnvsStepped stepped = Stepped(stream, Step(3, 2, {0.9f, 0, -0.9f, 0, 0, 0.9f}));
  ASSERT_EQ(stepped.errors_size(), 3);
  EXPECT_EQ(stepped.errors(0).field(), "observation");
  EXPECT_EQ(stepped.errors(0).agent(), "right");
  EXPECT_THAT(stepped.errors(0).message(), HasSubstr("step's observation of right holds NaN or infinity"));
  EXPECT_EQ(stepped.errors(1).env_index(), 1);
  EXPECT_EQ(stepped.errors(1).field(), "reward");
  EXPECT_EQ(stepped.errors(1).agent(), "right");
  EXPECT_EQ(stepped.errors(1).message(), "reward of right is nan");
  EXPECT_EQ(stepped.errors(2).env_index(), 2);
  EXPECT_EQ(stepped.errors(2).field(), "state");
  EXPECT_EQ(stepped.errors(2).agent(), "");
  EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ::testing::Each(1));
  EXPECT_THAT(Values<float>(stepped.observations()), ::testing::Each(0.f)) << "each reset";
  EXPECT_THAT(Values<float>(stepped.states()), ::testing::Each(0.f));
}

TEST(MultiAgentServerBatchTest, AResetToANonFiniteObservationIsAnOpenErrorWithAZeroRowRetriedAtEachStep) {
  std::unique_ptr<EnvServer> server = Serve(Nans());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 6), &response));  // seeds 6 and 7
  const v1::EnvsOpened& opened = response.opened();
  ASSERT_EQ(opened.errors_size(), 1);
  EXPECT_EQ(opened.errors(0).env_index(), 1);
  EXPECT_EQ(opened.errors(0).field(), "observation");
  EXPECT_EQ(opened.errors(0).agent(), "right");
  EXPECT_THAT(Values<uint8_t>(opened.live()), ElementsAre(1, 1, 0, 0)) << "no agent of env 1 is live";
  for (int t = 0; t < 2; ++t) {
    const v1::EnvsStepped stepped = Stepped(stream, Step(2, 2, {0, 0, kNan, kNan}));  // env 1's slots: no one's
    ASSERT_EQ(stepped.errors_size(), 1);
    EXPECT_EQ(stepped.errors(0).env_index(), 1);
    EXPECT_EQ(stepped.errors(0).field(), "observation");
    EXPECT_THAT(Values<uint8_t>(stepped.truncated()), ElementsAre(0, 0, 1, 1));
    EXPECT_THAT(Values<float>(stepped.observations()), ElementsAre(t + 1, t + 1, 0, 0));
  }
}

// ---- Renders.

TEST(MultiAgentServerBatchTest, ARenderDrawsTheEnvAsInProcessAndStepsNothing) {
  const std::string name = "CooperativeNavigation-v0";
  std::unique_ptr<EnvServer> server = Serve(Registered(name));
  ASSERT_NE(server, nullptr);
  RemoteMultiAgentEnvs::Options options;
  options.address = server->address();
  options.num_envs = 2;
  options.base_seed = 5;
  options.spec = *LookupMultiAgentSpec(name);
  options.reconnect_seconds = 10;
  absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> remote = RemoteMultiAgentEnvs::Create(options);
  ASSERT_TRUE(remote.ok()) << remote.status();
  std::vector<std::unique_ptr<MultiAgentEnv>> made;
  for (uint64_t seed : {6, 7}) made.push_back(*MakeMultiAgentEnv(name, 0, seed));
  std::unique_ptr<LocalMultiAgentEnvs> local =
      *LocalMultiAgentEnvs::Create(std::move(made), LocalMultiAgentEnvs::StepErrors::kFailEnv);
  EXPECT_EQ((*remote)->cameras(), local->cameras());
  ASSERT_FALSE(local->cameras().empty());

  Outputs a(**remote), b(*local);
  ASSERT_TRUE((*remote)->Reset(a.observations.data()).ok());
  ASSERT_TRUE(local->Reset(b.observations.data()).ok());
  const std::vector<float> actions = {1, 2, 3, 4, 0, 1};
  for (int t = 0; t < 3; ++t) {
    ASSERT_TRUE((*remote)->Step(2, actions.data(), a.out).ok());
    ASSERT_TRUE(local->Step(2, actions.data(), b.out).ok());
    RgbImage served, in_process;
    ASSERT_TRUE((*remote)->Render(1, 64, 48, "", &served).ok());
    ASSERT_TRUE(local->Render(1, 64, 48, "", &in_process).ok());
    EXPECT_EQ(served.width, 64);
    EXPECT_EQ(served.height, 48);
    EXPECT_EQ(served.rgb, in_process.rgb) << "step " << t;
  }
  // The renders stepped nothing: the envs go on alike.
  ASSERT_TRUE((*remote)->Step(2, actions.data(), a.out).ok());
  ASSERT_TRUE(local->Step(2, actions.data(), b.out).ok());
  EXPECT_TRUE(SameBits(a.observations, b.observations));
}

TEST(MultiAgentServerBatchTest, ARenderTheServerCannotDrawIsAnsweredByNameAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CooperativeNavigation-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2), &response));
  v1::EnvRequest render;
  render.mutable_render()->set_env_index(2);
  render.mutable_render()->set_width(16);
  render.mutable_render()->set_height(16);
  ASSERT_TRUE(stream.Call(render, &response));
  EXPECT_THAT(response.rendered().error(), HasSubstr("render.env_index 2 is out of range (0..1)"));
  render.mutable_render()->set_env_index(1);
  render.mutable_render()->set_camera("nowhere");
  ASSERT_TRUE(stream.Call(render, &response));
  EXPECT_THAT(response.rendered().error(), HasSubstr("env 1 of CooperativeNavigation-v0"));
  EXPECT_THAT(response.rendered().error(), HasSubstr("nowhere"));
  ASSERT_TRUE(stream.Call(Step(2, 3, std::vector<float>(6, 0.f)), &response));
  EXPECT_TRUE(response.has_stepped());
  EXPECT_TRUE(stream.Finish().ok());
}

// ---- Row control, which a multi-agent stream has not.

TEST(MultiAgentServerBatchTest, RowControlEndsAMultiAgentStreamWithInvalidArgumentNamingIt) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CooperativeNavigation-v0"));
  ASSERT_NE(server, nullptr);
  v1::EnvRequest masked = Step(2, 3, std::vector<float>(6, 0.f));
  v1::Tensor* mask = masked.mutable_step()->mutable_step_mask();
  mask->set_dtype(v1::DTYPE_BOOL);
  mask->add_shape(2);
  mask->set_data(std::string("\1\0", 2));
  ExpectStreamEnds(server->address(), Open(2), masked, grpc::StatusCode::INVALID_ARGUMENT,
                   "step.step_mask: a multi-agent stream has no row control");
  v1::EnvRequest deferred = Step(2, 3, std::vector<float>(6, 0.f));
  deferred.mutable_step()->set_defer_resets(true);
  ExpectStreamEnds(server->address(), Open(2), deferred, grpc::StatusCode::INVALID_ARGUMENT,
                   "step.defer_resets: a multi-agent stream has no row control");
  v1::EnvRequest reset;
  reset.mutable_reset()->add_env_indices(0);
  ExpectStreamEnds(server->address(), Open(2), reset, grpc::StatusCode::INVALID_ARGUMENT,
                   "reset: a multi-agent stream has no row control");
}

// ---- Opens and starts the server cannot serve.

TEST(MultiAgentServerBatchTest, AFactoryWhoseEnvsDifferEndsThatStreamWithFailedPrecondition) {
  std::unique_ptr<EnvServer> server = Serve([](uint64_t seed) -> absl::StatusOr<std::unique_ptr<MultiAgentEnv>> {
    return std::make_unique<LeaveEnv>(std::vector<int>{2, 3}, std::vector<int>{1, seed == 0 ? 1 : 4});
  });
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  EXPECT_FALSE(stream.Call(Open(1), &response));
  const grpc::Status status = stream.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              HasSubstr("env 0 of Leave-v0 (seed 100) has agent agent_1's observation shape [4]"));
}

TEST(MultiAgentServerBatchTest, NumEnvsOrSeedsOutOfRangeEndTheStreamWithInvalidArgument) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CooperativeNavigation-v0"));
  ASSERT_NE(server, nullptr);
  for (const auto& [open, names] : std::vector<std::pair<v1::EnvRequest, std::string>>{
           {Open(0), "open.num_envs 0 is out of range"}, {Open(kMaxEnvsPerStream + 1), "open.num_envs 4097"}}) {
    RawEnvStream stream(server->address());
    v1::EnvResponse response;
    EXPECT_FALSE(stream.Call(open, &response));
    const grpc::Status status = stream.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(names));
  }
}

TEST(MultiAgentServerBatchTest, AFactoryThatCannotMakeItsEnvFailsAtStart) {
  absl::StatusOr<std::unique_ptr<EnvServer>> server =
      EnvServer::StartMultiAgent("127.0.0.1:0", FaultyPlugin("Jammed-v0"));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("jammed"));
}

}  // namespace
}  // namespace rill::envs
