// Action masks from env plugins (ABI version 3): the example Gate-v0
// (examples/plugin/gate.c), a multi-agent env with one masked agent, masks
// a spec cannot hold refused by name, and a version-2 library still loaded.
#include <memory>
#include <string>
#include <vector>

#include "envs/action_mask.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/plugin/test_libraries.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Gate() { return Runfile("examples/plugin/libgate.so"); }

TEST(PluginActionMasksTest, GatesObservationsEndInItsMaskAndALockedGatePaysMinusOne) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(PluginConfig(Gate(), "Gate-v0"), 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->action_mask);
  EXPECT_TRUE(spec->discrete);
  EXPECT_EQ(spec->num_actions, 5);
  EXPECT_EQ(spec->observation_shape, std::vector<int64_t>({10}));
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(PluginConfig(Gate(), "Gate-v0"), 0, 3);
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<float> obs(10), next(10);
  (*env)->Reset(obs.data());
  int open_paid = 0, locked_paid = 0;
  for (int step = 0; step < 200; ++step) {
    ASSERT_TRUE(CheckActionMask(*spec, obs.data()).ok()) << MaskString(*spec, obs.data());
    EXPECT_EQ(CountAllowed(*spec, obs.data()), 3);  // two of five locked
    const int gate = step % 5;
    const float action = static_cast<float>(gate);
    absl::StatusOr<StepResult> result = (*env)->Step(&action, next.data());
    ASSERT_TRUE(result.ok()) << result.status();
    if (step % 10 == 9) {
      EXPECT_TRUE(result->truncated);  // its ten-step episodes
      (*env)->Reset(next.data());
    }
    if (ActionAllowed(*spec, obs.data(), gate)) {
      EXPECT_EQ(result->reward, obs[gate]);  // its prize
      ++open_paid;
    } else {
      EXPECT_EQ(result->reward, -1.f);
      ++locked_paid;
    }
    obs = next;
  }
  EXPECT_GT(open_paid, 0);
  EXPECT_GT(locked_paid, 0);
}

TEST(PluginActionMasksTest, EachAgentOfAMultiAgentEnvHasItsOwnMaskFlag) {
  absl::StatusOr<MultiAgentSpec> spec =
      PluginMultiAgentSpec(PluginConfig(TestPlugin("masked_agents_0_plugin"), "Duo-v0"), 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->agents, (std::vector<std::string>{"picker", "mover"}));
  EXPECT_TRUE(spec->agent_specs[0].action_mask);
  EXPECT_FALSE(spec->agent_specs[1].action_mask);
  // The library's unmasked single-agent env stays unmasked.
  absl::StatusOr<EnvSpec> tiny = PluginEnvSpec(PluginConfig(TestPlugin("masked_agents_0_plugin"), "Tiny-v0"), 0);
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_FALSE(tiny->action_mask);
}

TEST(PluginActionMasksTest, AMaskASpecCannotHoldIsRefusedNamingTheEnvAndAgent) {
  absl::StatusOr<MultiAgentSpec> box =
      PluginMultiAgentSpec(PluginConfig(TestPlugin("masked_agents_1_plugin"), "Duo-v0"), 0);
  ASSERT_FALSE(box.ok());
  EXPECT_THAT(box.status().message(),
              AllOf(HasSubstr("multi-agent env Duo-v0, agent mover: agent_action_masks says"),
                    HasSubstr("needs discrete actions")));
  absl::StatusOr<EnvSpec> tiny = PluginEnvSpec(PluginConfig(TestPlugin("masked_agents_2_plugin"), "Tiny-v0"), 0);
  ASSERT_FALSE(tiny.ok());
  EXPECT_THAT(tiny.status().message(),
              AllOf(HasSubstr("env Tiny-v0: env_action_masks says"), HasSubstr("more elements than its 3 actions")));
}

TEST(PluginActionMasksTest, AVersion2LibraryLoadsWithoutMasks) {
  absl::StatusOr<std::shared_ptr<const PluginLibrary>> library = PluginLibrary::Load(TestPlugin("v2_plugin"));
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->abi_version(), 2u);
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(PluginConfig(TestPlugin("v2_plugin"), "Count-v0"), 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->action_mask);  // its last elements are ones, but it says nothing of a mask
}

}  // namespace
}  // namespace rill::envs
