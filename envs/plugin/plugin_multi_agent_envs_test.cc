// Multi-agent env plugins (ABI version 2) against real shared libraries:
// the example (examples/plugin/rendezvous.c), the misbehaving and
// malformed ones of testdata/, and a library built for version 1.
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/plugin/test_libraries.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Rendezvous() { return Runfile("examples/plugin/librendezvous.so"); }

v1::PluginEnvConfig Config(const std::string& library, const std::string& id) { return PluginConfig(library, id); }

std::unique_ptr<MultiAgentEnv> Make(const std::string& library, const std::string& id, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<MultiAgentEnv>> env = MakePluginMultiAgentEnv(Config(library, id), 0, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

// One agent's buffers for each agent of `env`.
struct Buffers {
  explicit Buffers(const MultiAgentSpec& spec) {
    for (const EnvSpec& agent : spec.agent_specs) {
      obs.emplace_back(agent.obs_dim(), 0.f);
      actions.emplace_back(agent.discrete ? 1 : agent.action_dim(), 0.f);
    }
    for (size_t k = 0; k < obs.size(); ++k) {
      obs_rows.push_back(obs[k].data());
      action_rows.push_back(actions[k].data());
    }
    results.resize(obs.size());
  }
  std::vector<std::vector<float>> obs, actions;
  std::vector<float*> obs_rows;
  std::vector<const float*> action_rows;
  std::vector<StepResult> results;
};

TEST(PluginMultiAgentEnvsTest, TheExampleStatesItsAgentsSpacesAndState) {
  const v1::PluginEnvConfig config = Config(Rendezvous(), "Rendezvous-v0");
  EXPECT_TRUE(IsPluginMultiAgentEnv(config));
  absl::StatusOr<MultiAgentSpec> spec = PluginMultiAgentSpec(config, 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "Rendezvous-v0");
  EXPECT_EQ(spec->agents, (std::vector<std::string>{"scout_0", "scout_1", "scout_2"}));
  ASSERT_EQ(spec->agent_specs.size(), 3u);
  for (const EnvSpec& agent : spec->agent_specs) {
    EXPECT_EQ(agent.observation_shape, std::vector<int64_t>({6}));
    EXPECT_FALSE(agent.discrete);
    EXPECT_EQ(agent.action_low, std::vector<float>({-1.f, -1.f}));
    EXPECT_EQ(agent.action_high, std::vector<float>({1.f, 1.f}));
    EXPECT_EQ(agent.max_episode_steps, 25);
  }
  EXPECT_EQ(spec->state_shape, std::vector<int64_t>({6}));
  EXPECT_EQ(spec->max_episode_steps, 25);
  EXPECT_TRUE(spec->homogeneous());
  absl::StatusOr<MultiAgentSpec> limited = PluginMultiAgentSpec(config, 10);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->max_episode_steps, 10);
  // A single-agent lookup of it says what it is.
  absl::StatusOr<EnvSpec> single = PluginEnvSpec(config, 0);
  EXPECT_TRUE(absl::IsNotFound(single.status())) << single.status();
  EXPECT_THAT(single.status().message(), HasSubstr("Rendezvous-v0 (multi-agent)"));
}

// Mean return per scout of Rendezvous-v0 over `episodes` episodes, each
// scout's action from `policy`(its observation, its action).
template <typename Policy>
double MeanRendezvousReturn(Policy policy, int episodes) {
  std::unique_ptr<MultiAgentEnv> env = Make(Rendezvous(), "Rendezvous-v0", 11);
  Buffers buffers(env->spec());
  double total = 0;
  for (int e = 0; e < episodes; ++e) {
    env->Reset(buffers.obs_rows.data());
    while (!env->episode_over()) {
      for (int k = 0; k < 3; ++k) policy(buffers.obs[k].data(), buffers.actions[k].data());
      absl::Status status = env->Step(buffers.action_rows.data(), buffers.obs_rows.data(), buffers.results.data());
      EXPECT_TRUE(status.ok()) << status;
      if (!status.ok()) return 0;
      total += buffers.results[0].reward;
    }
  }
  return total / episodes;
}

TEST(PluginMultiAgentEnvsTest, ScoutsHeadingForEachOtherMeetWhereStandingStillDoesNot) {
  const double still = MeanRendezvousReturn([](const float*, float* a) { a[0] = a[1] = 0; }, 200);
  // Towards the centroid of the other two, at full speed unless close.
  const double meet = MeanRendezvousReturn(
      [](const float* o, float* a) {
        const float dx = (o[2] + o[4]) / 2, dy = (o[3] + o[5]) / 2;
        const float distance = std::hypot(dx, dy);
        const float speed = std::min(1.f, distance / 0.1f) / std::max(distance, 1e-6f);
        a[0] = dx * speed;
        a[1] = dy * speed;
      },
      200);
  std::printf("Rendezvous-v0 mean return per scout over 200 episodes: standing still %.1f, meeting %.1f\n", still,
              meet);
  EXPECT_LT(still, -10);
  EXPECT_GT(meet, -4);
}

TEST(PluginMultiAgentEnvsTest, AgentsLeaveOneByOneAndThoseThatLeftGetNoAction) {
  std::unique_ptr<MultiAgentEnv> env = Make(TestPlugin("faulty_multi_agent_plugin"), "Countdown-v0", 1);
  Buffers buffers(env->spec());
  env->Reset(buffers.obs_rows.data());
  std::vector<float> state(2);
  for (int step = 1; step <= 3; ++step) {
    ASSERT_FALSE(env->episode_over());
    // The library fails a step that passes an action for an agent that
    // left: Rill passes none.
    absl::Status status = env->Step(buffers.action_rows.data(), buffers.obs_rows.data(), buffers.results.data());
    ASSERT_TRUE(status.ok()) << status;
    const int left = step - 1;  // agent that ends at this step
    EXPECT_TRUE(buffers.results[left].terminated) << step;
    EXPECT_EQ(buffers.results[left].reward, left + 1);
    EXPECT_FALSE(env->live(left));
    for (int k = step; k < 3; ++k) EXPECT_TRUE(env->live(k)) << k;
    // An agent that left keeps the observation it ended on.
    EXPECT_EQ(buffers.obs[0][0], 1.f);
    env->State(state.data());
    EXPECT_EQ(state, (std::vector<float>{static_cast<float>(step), static_cast<float>(3 - step)}));
  }
  EXPECT_TRUE(env->episode_over());
  env->Reset(buffers.obs_rows.data());
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(env->live(k));
}

TEST(PluginMultiAgentEnvsTest, EachMisbehaviourIsAStepErrorNamingTheEnvAndTheAgent) {
  std::unique_ptr<MultiAgentEnv> env = Make(TestPlugin("faulty_multi_agent_plugin"), "Glitch-v0", 1);
  Buffers buffers(env->spec());
  auto step = [&](float x, float y) {
    buffers.actions[0][0] = x;
    buffers.actions[1][0] = y;
    return env->Step(buffers.action_rows.data(), buffers.obs_rows.data(), buffers.results.data());
  };
  env->Reset(buffers.obs_rows.data());
  ASSERT_TRUE(step(0, 0).ok());
  EXPECT_THAT(step(0.9f, 0).message(), AllOf(HasSubstr("Glitch-v0"), HasSubstr("agent y's observation[0] = nan")));
  env->Reset(buffers.obs_rows.data());
  EXPECT_THAT(step(-0.9f, 0).message(), HasSubstr("agent y's reward nan"));
  env->Reset(buffers.obs_rows.data());
  absl::Status failed = step(0, 0.9f);
  EXPECT_TRUE(absl::IsInternal(failed)) << failed;
  EXPECT_THAT(failed.message(), HasSubstr("step failed: y pulled the plug"));
  env->Reset(buffers.obs_rows.data());
  EXPECT_THAT(step(std::nanf(""), 0).message(), HasSubstr("agent x's action[0] is NaN"));
  // A bad state read fails the env's next step.
  env->Reset(buffers.obs_rows.data());
  ASSERT_TRUE(step(0, -0.9f).ok());
  std::vector<float> state(1, 5.f);
  env->State(state.data());
  EXPECT_EQ(state[0], 0.f);
  EXPECT_THAT(step(0, 0).message(), HasSubstr("state returned state[0] = nan"));
  EXPECT_TRUE(step(0, 0).ok());
  // A failed reset is each step's error until a reset succeeds.
  std::unique_ptr<MultiAgentEnv> seven = Make(TestPlugin("faulty_multi_agent_plugin"), "Glitch-v0", 7);
  Buffers seven_buffers(seven->spec());
  seven->Reset(seven_buffers.obs_rows.data());
  absl::Status reset = seven->Step(seven_buffers.action_rows.data(), seven_buffers.obs_rows.data(),
                                   seven_buffers.results.data());
  EXPECT_TRUE(absl::IsFailedPrecondition(reset)) << reset;
  EXPECT_THAT(reset.message(), HasSubstr("reset failed: cannot reset with seed 7"));
  // create's own message.
  absl::StatusOr<std::unique_ptr<MultiAgentEnv>> jammed =
      MakePluginMultiAgentEnv(Config(TestPlugin("faulty_multi_agent_plugin"), "Jammed-v0"), 0, 1);
  EXPECT_THAT(jammed.status().message(), AllOf(HasSubstr("Jammed-v0"), HasSubstr("create failed: jammed")));
}

TEST(PluginMultiAgentEnvsTest, MalformedAgentTablesAreRefusedNamingTheEnvAndTheAgent) {
  const std::vector<std::pair<int, std::string>> cases = {
      {1, "multi-agent env Pair-v0: agent twin is declared twice"},
      {2, "its table has no multi_agent_state (an env has a state)"},
      {3, "multi-agent env Pair-v0, agent upside: action bounds [1, -1] of dimension 0"},
      {4, "offers env Pair-v0 twice"},
  };
  for (const auto& [bad, message] : cases) {
    const std::string library = TestPlugin(absl::StrCat("bad_agents_", bad, "_plugin"));
    absl::StatusOr<MultiAgentSpec> spec = PluginMultiAgentSpec(Config(library, "Pair-v0"), 0);
    EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << bad << ": " << spec.status();
    EXPECT_THAT(spec.status().message(), AllOf(HasSubstr(library), HasSubstr(message))) << bad;
    EXPECT_FALSE(IsPluginMultiAgentEnv(Config(library, "Pair-v0")));
  }
}

TEST(PluginMultiAgentEnvsTest, ALibraryBuiltForVersionOneStillLoadsAndSteps) {
  absl::StatusOr<std::shared_ptr<const PluginLibrary>> library = PluginLibrary::Load(TestPlugin("v1_plugin"));
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->abi_version(), 1u);
  EXPECT_TRUE((*library)->multi_agent_specs().empty());
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(Config(TestPlugin("v1_plugin"), "Tally-v0"), 0, 1);
  ASSERT_TRUE(env.ok()) << env.status();
  float obs = -1;
  (*env)->Reset(&obs);
  EXPECT_EQ(obs, 0.f);
  for (float action : {2.f, 1.f}) ASSERT_TRUE((*env)->Step(&action, &obs).ok());
  EXPECT_EQ(obs, 3.f);
  absl::StatusOr<MultiAgentSpec> multi = PluginMultiAgentSpec(Config(TestPlugin("v1_plugin"), "Tally-v0"), 0);
  EXPECT_TRUE(absl::IsNotFound(multi.status())) << multi.status();
  EXPECT_THAT(multi.status().message(), HasSubstr("no multi-agent env 'Tally-v0'; it offers: Tally-v0"));
}

}  // namespace
}  // namespace rill::envs
