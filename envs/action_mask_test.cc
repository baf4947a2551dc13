#include "envs/action_mask.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <random>

#include "gtest/gtest.h"

namespace rill::envs {
namespace {

// Two state elements, then a mask over four actions.
EnvSpec MaskedSpec(ObservationType type = ObservationType::kFloat32) {
  EnvSpec spec;
  spec.name = "Masked-v0";
  spec.observation_shape = {6};
  spec.observation_type = type;
  spec.discrete = true;
  spec.num_actions = 4;
  spec.action_mask = true;
  return spec;
}

TEST(ActionMaskTest, ReadsTheLastElementsOfFloatAndByteObservations) {
  const std::array<float, 6> floats = {0.5f, 1.f, 0, 1, 1, 0};
  const std::array<uint8_t, 6> bytes = {9, 1, 0, 1, 1, 0};
  for (const auto& [spec, obs] : {std::pair<EnvSpec, const void*>{MaskedSpec(), floats.data()},
                                  {MaskedSpec(ObservationType::kUint8), bytes.data()}}) {
    EXPECT_FALSE(ActionAllowed(spec, obs, 0));
    EXPECT_TRUE(ActionAllowed(spec, obs, 1));
    EXPECT_TRUE(ActionAllowed(spec, obs, 2));
    EXPECT_FALSE(ActionAllowed(spec, obs, 3));
    EXPECT_EQ(CountAllowed(spec, obs), 2);
    EXPECT_TRUE(CheckActionMask(spec, obs).ok());
    EXPECT_EQ(MaskString(spec, obs), "[0, 1, 1, 0]");
  }
}

// A Dict observation's packed row: a uint8 [1, 1, 3] image's bytes, then
// five float32s (a state of one, then the mask), at an odd byte offset.
TEST(ActionMaskTest, ReadsTheFloatsThatEndAPackedDictRow) {
  EnvSpec spec = MaskedSpec(ObservationType::kUint8);
  spec.observation_shape = {1, 1, 3};
  spec.flat_dim = 5;
  ASSERT_TRUE(CheckActionMaskSpec(spec).ok());
  std::array<uint8_t, 3 + 20> row = {200, 0, 255};
  const float flat[5] = {7.5f, 0, 1, 1, 0};
  std::memcpy(row.data() + 3, flat, sizeof(flat));
  EXPECT_EQ(MaskString(spec, row.data()), "[0, 1, 1, 0]");
  EXPECT_TRUE(ActionAllowed(spec, row.data(), 2));
  EXPECT_FALSE(ActionAllowed(spec, row.data(), 3));
  EXPECT_TRUE(CheckActionMask(spec, row.data()).ok());
  spec.flat_dim = 3;  // fewer flat leaves than actions
  EXPECT_NE(CheckActionMaskSpec(spec).message().find("ends the flat leaves, and there are 3"), std::string::npos);
}

TEST(ActionMaskTest, WithoutAMaskEveryActionIsAllowed) {
  EnvSpec spec = MaskedSpec();
  spec.action_mask = false;
  const std::array<float, 6> obs = {0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(ActionAllowed(spec, obs.data(), 3));
  EXPECT_EQ(CountAllowed(spec, obs.data()), 4);
  EXPECT_TRUE(CheckActionMask(spec, obs.data()).ok());
}

TEST(ActionMaskTest, NamesAnElementThatIsNeitherZeroNorOne) {
  const std::array<float, 6> obs = {0, 0, 1, 0.5f, 0, 1};
  const absl::Status status = CheckActionMask(MaskedSpec(), obs.data());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "action mask [1, 0.5, 0, 1]: element 1 is 0.5, not 0 or 1");
  const std::array<uint8_t, 6> bytes = {0, 0, 1, 2, 0, 1};
  EXPECT_NE(CheckActionMask(MaskedSpec(ObservationType::kUint8), bytes.data()).message().find("element 1 is 2"),
            std::string::npos);
}

TEST(ActionMaskTest, RefusesAMaskThatAllowsNothing) {
  const std::array<float, 6> obs = {3, 4, 0, 0, 0, 0};
  const absl::Status status = CheckActionMask(MaskedSpec(), obs.data());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[0, 0, 0, 0] allows no action"), std::string::npos) << status;
}

TEST(ActionMaskTest, UniformActionsAreAllowedOnesEquallyOften) {
  const std::array<float, 6> obs = {0, 0, 1, 0, 1, 1};
  std::mt19937_64 rng(7);
  std::array<int, 4> counts{};
  for (int i = 0; i < 30000; ++i) ++counts[UniformAllowedAction(MaskedSpec(), obs.data(), rng)];
  EXPECT_EQ(counts[1], 0);
  for (int k : {0, 2, 3}) EXPECT_NEAR(counts[k], 10000, 400) << "action " << k;
}

}  // namespace
}  // namespace rill::envs
