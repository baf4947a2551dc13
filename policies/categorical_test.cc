// CategoricalPolicy with an action mask (PolicySpec.action_mask): the
// observation's last action_dim elements decide which actions can come out.
#include "policies/categorical.h"

#include <cmath>
#include <memory>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"

namespace rill::policies {
namespace {

using ::testing::HasSubstr;

constexpr int kActions = 4;
constexpr int kState = 3;

v1::PolicySpec MaskedSpec() {
  v1::PolicySpec spec;
  spec.set_kind(CategoricalPolicy::kKind);
  spec.set_obs_dim(kState + kActions);
  spec.set_action_dim(kActions);
  spec.add_hidden_sizes(8);
  spec.set_action_mask(true);
  return spec;
}

// `rows` observations: a state that varies by row, then `mask`.
std::vector<float> Observations(int rows, const std::vector<float>& mask) {
  std::vector<float> obs;
  for (int r = 0; r < rows; ++r) {
    for (int i = 0; i < kState; ++i) obs.push_back(std::sin(1.7f * r + i));
    obs.insert(obs.end(), mask.begin(), mask.end());
  }
  return obs;
}

TEST(CategoricalPolicyTest, MaskedActionsAreNeverDrawnNorTheArgmax) {
  std::unique_ptr<Policy> policy = *MakePolicy(MaskedSpec(), 7);
  const std::vector<float> obs = Observations(500, {1, 0, 1, 0});
  PolicyOutput out;
  std::set<int64_t> drawn;
  for (int round = 0; round < 4; ++round) {
    policy->Act(obs.data(), 500, /*deterministic=*/false, &out);
    drawn.insert(out.indices.begin(), out.indices.end());
  }
  EXPECT_EQ(drawn, (std::set<int64_t>{0, 2}));
  policy->Act(obs.data(), 500, /*deterministic=*/true, &out);
  for (int64_t a : out.indices) EXPECT_TRUE(a == 0 || a == 2) << a;
}

TEST(CategoricalPolicyTest, BehaviourGivesMaskedActionsTheMaskedLogitAndFiniteLogProbs) {
  std::unique_ptr<Policy> policy = *MakePolicy(MaskedSpec(), 3);
  const std::vector<float> obs = Observations(16, {0, 1, 1, 0});
  PolicyOutput out;
  ASSERT_TRUE(policy->ActWithBehaviour(obs.data(), 16, &out).ok());
  for (int r = 0; r < 16; ++r) {
    EXPECT_EQ(out.distribution[r * kActions + 0], kMaskedLogit);
    EXPECT_EQ(out.distribution[r * kActions + 3], kMaskedLogit);
    EXPECT_GT(out.distribution[r * kActions + 1], kMaskedLogit);
    EXPECT_TRUE(out.indices[r] == 1 || out.indices[r] == 2) << out.indices[r];
    // Two actions left: each has a probability well away from 0.
    EXPECT_TRUE(std::isfinite(out.log_prob[r]));
    EXPECT_LT(out.log_prob[r], 0);
    EXPECT_GT(out.log_prob[r], -20);
  }
}

TEST(CategoricalPolicyTest, OneAllowedActionIsAlwaysTaken) {
  std::unique_ptr<Policy> policy = *MakePolicy(MaskedSpec(), 5);
  const std::vector<float> obs = Observations(64, {0, 0, 0, 1});
  PolicyOutput out;
  ASSERT_TRUE(policy->ActWithBehaviour(obs.data(), 64, &out).ok());
  for (int r = 0; r < 64; ++r) {
    EXPECT_EQ(out.indices[r], 3);
    EXPECT_NEAR(out.log_prob[r], 0, 1e-6);
  }
}

TEST(CategoricalPolicyTest, WithoutTheFlagTheMaskIsOnlyInput) {
  v1::PolicySpec spec = MaskedSpec();
  spec.set_action_mask(false);
  std::unique_ptr<Policy> policy = *MakePolicy(spec, 7);
  const std::vector<float> obs = Observations(500, {1, 0, 0, 0});
  PolicyOutput out;
  policy->Act(obs.data(), 500, /*deterministic=*/false, &out);
  EXPECT_EQ(std::set<int64_t>(out.indices.begin(), out.indices.end()).size(), 4u);
}

TEST(CategoricalPolicyTest, AMaskIsRefusedWhereItCannotBe) {
  v1::PolicySpec gaussian = MaskedSpec();
  gaussian.set_kind("gaussian");
  for (int i = 0; i < kActions; ++i) {
    gaussian.add_action_low(-1);
    gaussian.add_action_high(1);
  }
  EXPECT_THAT(MakePolicy(gaussian, 1).status().message(), HasSubstr("action_mask"));
  v1::PolicySpec narrow = MaskedSpec();
  narrow.set_obs_dim(kActions);
  EXPECT_THAT(MakePolicy(narrow, 1).status().message(), HasSubstr("longer than the 4 actions"));
}

// A spec of several image leaves (PolicySpec.image_channels), as a
// published ParameterSet may carry it: well formed it makes a torso per
// leaf, and leaves that do not add up to the image are refused by name.
TEST(CategoricalPolicyTest, ImageLeavesMustAddUpToTheImage) {
  v1::PolicySpec spec;
  spec.set_kind(CategoricalPolicy::kKind);
  spec.set_obs_dim(3 * 5 * 5);
  spec.set_action_dim(kActions);
  spec.add_hidden_sizes(8);
  spec.set_observation_dtype(v1::DTYPE_UINT8);
  for (int d : {3, 5, 5}) spec.add_observation_shape(d);
  *spec.add_torso() = MinAtarCnnLayers().front();
  spec.add_image_channels(1);
  spec.add_image_channels(2);
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(spec, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<v1::ParameterSet> parameters = (*policy)->ExportParameters();
  ASSERT_TRUE(parameters.ok()) << parameters.status();
  int torsos = 0;
  for (const v1::NamedTensor& tensor : parameters->tensors()) {
    torsos += tensor.name() == "policy.torso.0.weight" || tensor.name() == "policy.image1.torso.0.weight";
  }
  EXPECT_EQ(torsos, 2);
  v1::PolicySpec short_by_one = spec;
  short_by_one.set_image_channels(1, 1);
  EXPECT_THAT(MakePolicy(short_by_one, 1).status().message(),
              HasSubstr("image_channels: image leaves of 1 + 1 channels in an image of 3"));
  v1::PolicySpec one = spec;
  one.clear_image_channels();
  one.add_image_channels(3);
  EXPECT_THAT(MakePolicy(one, 1).status().message(), HasSubstr("image_channels: has one entry; a single image has none"));
}

}  // namespace
}  // namespace rill::policies
