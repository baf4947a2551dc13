// Dict observations from env plugins (ABI version 4): the example
// Beacon-v0 (examples/plugin/beacon.c) laid out as one row and walked to
// its beacon, a Dict env beside a Box one in a library, a non-finite leaf
// named, each malformed Dict refused by name, and a version-3 library
// still loaded.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "envs/action_mask.h"
#include "envs/observation.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/plugin/test_libraries.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Beacon() { return Runfile("examples/plugin/libbeacon.so"); }

std::vector<std::string> LeafNames(const EnvSpec& spec) {
  std::vector<std::string> names;
  for (const ObservationLeaf& leaf : spec.observation_leaves) names.push_back(leaf.name);
  return names;
}

// One packed Beacon row, read back.
struct BeaconRow {
  int agent_col = -1, agent_row = -1;
  float beacon[2] = {0, 0};
  float mask[4] = {0, 0, 0, 0};
};

BeaconRow ReadBeacon(const std::vector<uint8_t>& row) {
  BeaconRow read;
  int lit = 0;
  for (int cell = 0; cell < 49; ++cell) {
    if (row[cell] == 0) continue;
    EXPECT_EQ(row[cell], 255);
    read.agent_col = cell % 7;
    read.agent_row = cell / 7;
    ++lit;
  }
  EXPECT_EQ(lit, 1);
  std::memcpy(read.beacon, row.data() + 49, sizeof(read.beacon));
  std::memcpy(read.mask, row.data() + 49 + sizeof(read.beacon), sizeof(read.mask));
  return read;
}

TEST(PluginDictObservationsTest, BeaconsRowIsTheImageThenTheBeaconThenTheMask) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(PluginConfig(Beacon(), "Beacon-v0"), 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  // Declared action_mask, beacon, image: the image first, the mask last.
  EXPECT_THAT(LeafNames(*spec), ElementsAre("image", "beacon", "action_mask"));
  EXPECT_EQ(spec->observation_shape, std::vector<int64_t>({1, 7, 7}));
  EXPECT_TRUE(spec->uint8_observations());
  EXPECT_EQ(spec->flat_dim, 6);
  EXPECT_EQ(spec->obs_bytes(), 49 + 6 * 4);
  EXPECT_TRUE(spec->packed_observations());
  EXPECT_TRUE(spec->action_mask);
  EXPECT_EQ(spec->max_episode_steps, 40);
}

TEST(PluginDictObservationsTest, WalkingStraightToTheBeaconPaysOneAndEndsTheEpisode) {
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(PluginConfig(Beacon(), "Beacon-v0"), 0, 11);
  ASSERT_TRUE(env.ok()) << env.status();
  const EnvSpec& spec = (*env)->spec();
  std::vector<uint8_t> row(static_cast<size_t>(spec.obs_bytes()));
  int episodes = 0;
  for (; episodes < 20; ++episodes) {
    (*env)->ResetRaw(row.data());
    for (int step = 0;; ++step) {
      ASSERT_LT(step, 12) << "a straight walk is at most 12 moves";
      const BeaconRow read = ReadBeacon(row);
      ASSERT_TRUE(CheckActionMask(spec, row.data()).ok());
      // The mask allows exactly the moves that stay on the grid.
      EXPECT_EQ(read.mask[0], read.agent_row > 0 ? 1.f : 0.f);
      EXPECT_EQ(read.mask[1], read.agent_col < 6 ? 1.f : 0.f);
      EXPECT_EQ(read.mask[2], read.agent_row < 6 ? 1.f : 0.f);
      EXPECT_EQ(read.mask[3], read.agent_col > 0 ? 1.f : 0.f);
      const int beacon_col = static_cast<int>(read.beacon[0] * 6 + 0.5f);
      const int beacon_row = static_cast<int>(read.beacon[1] * 6 + 0.5f);
      ASSERT_FALSE(beacon_col == read.agent_col && beacon_row == read.agent_row) << "agent on the beacon";
      const float move = beacon_col > read.agent_col   ? 1.f
                         : beacon_col < read.agent_col ? 3.f
                         : beacon_row > read.agent_row ? 2.f
                                                       : 0.f;
      absl::StatusOr<StepResult> result = (*env)->StepRaw(&move, row.data());
      ASSERT_TRUE(result.ok()) << result.status();
      const bool there = std::abs(beacon_col - read.agent_col) + std::abs(beacon_row - read.agent_row) == 1;
      EXPECT_EQ(result->terminated, there);
      EXPECT_FLOAT_EQ(result->reward, there ? 1.f : -0.02f);
      if (there) break;
    }
  }
  EXPECT_EQ(episodes, 20);
}

TEST(PluginDictObservationsTest, TheFloatPathGivesTheRowsValues) {
  absl::StatusOr<std::unique_ptr<Env>> raw = MakePluginEnv(PluginConfig(Beacon(), "Beacon-v0"), 0, 5);
  absl::StatusOr<std::unique_ptr<Env>> floats = MakePluginEnv(PluginConfig(Beacon(), "Beacon-v0"), 0, 5);
  ASSERT_TRUE(raw.ok() && floats.ok());
  const EnvSpec& spec = (*raw)->spec();
  std::vector<uint8_t> row(static_cast<size_t>(spec.obs_bytes()));
  std::vector<float> values(static_cast<size_t>(spec.obs_dim()));
  (*raw)->ResetRaw(row.data());
  (*floats)->Reset(values.data());
  for (int step = 0; step < 30; ++step) {
    for (int k = 0; k < 49; ++k) ASSERT_EQ(values[k], static_cast<float>(row[k])) << k;  // unscaled, as Env says
    std::vector<float> scaled;
    const float* as_network = ObservationsAsFloat(spec, row.data(), 1, &scaled);
    for (int k = 49; k < spec.obs_dim(); ++k) ASSERT_EQ(values[k], as_network[k]) << k;
    const float move = static_cast<float>(step % 4);
    absl::StatusOr<StepResult> a = (*raw)->StepRaw(&move, row.data());
    absl::StatusOr<StepResult> b = (*floats)->Step(&move, values.data());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->reward, b->reward);
    if (a->terminated || a->truncated) {
      (*raw)->ResetRaw(row.data());
      (*floats)->Reset(values.data());
    }
  }
}

TEST(PluginDictObservationsTest, ADictEnvBesideABoxEnvAndANonFiniteLeafNamed) {
  const std::string library = TestPlugin("dict_0_plugin");
  absl::StatusOr<std::unique_ptr<Env>> plain = MakePluginEnv(PluginConfig(library, "Plain-v0"), 0, 1);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE((*plain)->spec().observation_leaves.empty());
  std::vector<float> box(2);
  (*plain)->Reset(box.data());
  const float zero = 0;
  ASSERT_TRUE((*plain)->Step(&zero, box.data()).ok());
  EXPECT_THAT(box, ElementsAre(1.f, 1.f));

  absl::StatusOr<std::unique_ptr<Env>> pair = MakePluginEnv(PluginConfig(library, "Pair-v0"), 0, 7);
  ASSERT_TRUE(pair.ok()) << pair.status();
  const EnvSpec& spec = (*pair)->spec();
  EXPECT_THAT(LeafNames(spec), ElementsAre("image", "state"));
  ASSERT_EQ(spec.obs_bytes(), 4 + 3 * 4);
  std::vector<uint8_t> row(static_cast<size_t>(spec.obs_bytes()));
  (*pair)->ResetRaw(row.data());
  const float action = 0.25f;
  for (int t = 1; t <= 2; ++t) {
    absl::StatusOr<StepResult> result = (*pair)->StepRaw(&action, row.data());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->reward, 0.25f);
    EXPECT_THAT(std::vector<uint8_t>(row.begin(), row.begin() + 4), ElementsAre(t, t, t, t));
    float state[3];
    std::memcpy(state, row.data() + 4, sizeof(state));
    EXPECT_THAT(state, ElementsAre(t, t + 0.5f, -t));
  }
  absl::StatusOr<StepResult> third = (*pair)->StepRaw(&action, row.data());
  ASSERT_FALSE(third.ok());
  EXPECT_THAT(third.status().message(), HasSubstr("Pair-v0"));
  EXPECT_THAT(third.status().message(), HasSubstr("step returned leaf 'state'[1] = nan"));
}

TEST(PluginDictObservationsTest, EachMalformedDictIsRefusedByName) {
  const std::vector<std::pair<int, std::string>> cases = {
      {1, "env Pair-v0: its Dict observation: image leaf 'depth' is uint8 [1, 3, 3] beside 'image', uint8 [1, 2, 2]; "
          "image leaves share height, width and dtype"},
      {2, "leaf 'image' is uint8; a flat leaf is float32"},
      {3, "env Pair-v0: observation_rank 1 beside a Dict in env_dict_spaces; a Dict env declares 0"},
      {4, "leaf 'state' is declared twice"},
      {5, "env_action_masks says it has an action mask, so it needs a flat leaf 'action_mask' of its 3 actions"},
      {6, "its table has no step_dict (an env has a Dict observation)"},
      {7, "leaf 'image' has rank 4; a leaf is an image (rank 3, [C, H, W]) or flat (rank 0 to 2)"},
  };
  for (const auto& [bad_case, message] : cases) {
    absl::StatusOr<std::shared_ptr<const PluginLibrary>> library =
        PluginLibrary::Load(TestPlugin(absl::StrCat("dict_", bad_case, "_plugin")));
    ASSERT_FALSE(library.ok()) << "case " << bad_case;
    EXPECT_EQ(library.status().code(), absl::StatusCode::kInvalidArgument) << bad_case;
    EXPECT_THAT(library.status().message(), HasSubstr(message)) << bad_case;
  }
}

TEST(PluginDictObservationsTest, AVersion3LibraryLoadsAndReadsNothingPastItsTable) {
  absl::StatusOr<std::shared_ptr<const PluginLibrary>> library = PluginLibrary::Load(TestPlugin("v3_plugin"));
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->abi_version(), 3u);
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(PluginConfig(TestPlugin("v3_plugin"), "Switch-v0"), 0, 1);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_TRUE((*env)->spec().action_mask);
  EXPECT_TRUE((*env)->spec().observation_leaves.empty());
  std::vector<float> obs(3);
  (*env)->Reset(obs.data());
  EXPECT_TRUE(ActionAllowed((*env)->spec(), obs.data(), 1));
  const float action = 1;
  absl::StatusOr<StepResult> result = (*env)->Step(&action, obs.data());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->reward, 1.f);
  EXPECT_FALSE(ActionAllowed((*env)->spec(), obs.data(), 1));  // after an odd step
}

}  // namespace
}  // namespace rill::envs
