#include "policies/deterministic.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// Policy 2 -> 2 -> 2: h = relu(obs), u = (h1 - 0.5 h2, 0.25 h2 + 0.1).
v1::PolicySpec TinySpec(double exploration_noise) {
  v1::PolicySpec spec;
  spec.set_kind(policies::DeterministicPolicy::kKind);
  spec.set_obs_dim(2);
  spec.set_action_dim(2);
  spec.add_hidden_sizes(2);
  spec.set_exploration_noise(exploration_noise);
  for (int i = 0; i < 2; ++i) {
    spec.add_action_low(-2);
    spec.add_action_high(2);
  }
  return spec;
}

std::unique_ptr<policies::DeterministicPolicy> TinyPolicy(double exploration_noise, uint64_t seed) {
  std::unique_ptr<policies::DeterministicPolicy> policy = *policies::DeterministicPolicy::Create(TinySpec(exploration_noise), seed);
  v1::ParameterSet set = *policy->ExportParameters();
  auto put = [&](int i, std::vector<float> values) {
    std::string* data = set.mutable_tensors(i)->mutable_tensor()->mutable_data();
    data->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  };
  put(0, {1, 0, 0, 1});        // policy.layers.0.weight [2, 2]
  put(1, {0, 0});              // policy.layers.0.bias [2]
  put(2, {1, -0.5, 0, 0.25});  // policy.layers.1.weight [2, 2]
  put(3, {0, 0.1});            // policy.layers.1.bias [2]
  EXPECT_TRUE(policy->LoadParameters(set).ok());
  return policy;
}

// obs (1, 2): h = (1, 2), u = (0, 0.6) -> a = (0, tanh(0.6) = 0.53704957).
// obs (-3, 0.5): h = (0, 0.5), u = (-0.25, 0.225) -> a = (-0.24491866, 0.22127847).
const torch::Tensor& TinyObs() {
  static const torch::Tensor* const kObs = new torch::Tensor(torch::tensor({{1.f, 2.f}, {-3.f, 0.5f}}));
  return *kObs;
}
constexpr float kTinyActions[2][2] = {{0.0f, 0.53704957f}, {-0.24491866f, 0.22127847f}};

TEST(DeterministicPolicyTest, ExportsParametersUnderPolicyNamesWithActionDimOutputs) {
  std::unique_ptr<policies::DeterministicPolicy> policy = *policies::DeterministicPolicy::Create(17, 6, {256, 256}, 0.1, 0);
  v1::ParameterSet set = *policy->ExportParameters();
  ASSERT_EQ(set.tensors_size(), 6);
  EXPECT_EQ(set.tensors(0).name(), "policy.layers.0.weight");
  EXPECT_EQ(set.tensors(5).name(), "policy.layers.2.bias");
  EXPECT_THAT(set.tensors(5).tensor().shape(), ::testing::ElementsAre(6));
  EXPECT_EQ(set.policy().kind(), "deterministic");
  EXPECT_DOUBLE_EQ(set.policy().exploration_noise(), 0.1);
}

TEST(DeterministicPolicyTest, CreateRejectsAnotherKind) {
  v1::PolicySpec spec = TinySpec(0.1);
  spec.set_kind("gaussian");
  absl::StatusOr<std::unique_ptr<policies::DeterministicPolicy>> policy = policies::DeterministicPolicy::Create(spec, 0);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("kind"));
}

TEST(DeterministicPolicyTest, DeterministicActionIsTanhOfTheNetworkOutput) {
  std::unique_ptr<policies::DeterministicPolicy> policy = TinyPolicy(0.1, 0);
  torch::Tensor actions = Act(*policy, TinyObs(), /*deterministic=*/true);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{2, 2}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(actions[i][j].item<float>(), kTinyActions[i][j], 1e-6) << i << j;
  }
}

TEST(DeterministicPolicyTest, ExploringActionsStayInRangeWithTheConfiguredSpread) {
  std::unique_ptr<policies::DeterministicPolicy> policy = TinyPolicy(0.2, 3);
  // obs (1, 2): mean action (0, 0.537); noise std 0.2 is clipped at 1 only
  // 2.3 std above 0.537, which takes a little off the second column's spread.
  torch::Tensor obs = TinyObs()[0].repeat({4000, 1});
  torch::Tensor actions = Act(*policy, obs, /*deterministic=*/false);
  EXPECT_LE(actions.max().item<float>(), 1.0f);
  EXPECT_GE(actions.min().item<float>(), -1.0f);
  torch::Tensor first = actions.select(1, 0);
  EXPECT_NEAR(first.mean().item<float>(), 0.0f, 0.01);
  EXPECT_NEAR(first.std().item<float>(), 0.2f, 0.01);
  torch::Tensor second = actions.select(1, 1);
  EXPECT_NEAR(second.mean().item<float>(), 0.537f, 0.015);
  EXPECT_NEAR(second.std().item<float>(), 0.2f, 0.02);
}

TEST(DeterministicPolicyTest, ExploringActionsAreClippedToTheBounds) {
  std::unique_ptr<policies::DeterministicPolicy> policy = TinyPolicy(10.0, 4);
  torch::Tensor actions = Act(*policy, TinyObs().repeat({500, 1}), /*deterministic=*/false);
  EXPECT_FLOAT_EQ(actions.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(actions.min().item<float>(), -1.0f);
}

TEST(DeterministicPolicyTest, ZeroNoiseExploresWithTheDeterministicAction) {
  std::unique_ptr<policies::DeterministicPolicy> policy = TinyPolicy(0.0, 1);
  EXPECT_TRUE(torch::equal(Act(*policy, TinyObs(), /*deterministic=*/false), Act(*policy, TinyObs(), true)));
}

TEST(DeterministicPolicyTest, SameSeedExploresWithSameActions) {
  std::unique_ptr<policies::DeterministicPolicy> a = TinyPolicy(0.3, 7);
  std::unique_ptr<policies::DeterministicPolicy> b = TinyPolicy(0.3, 7);
  std::unique_ptr<policies::DeterministicPolicy> c = TinyPolicy(0.3, 8);
  torch::Tensor obs = torch::randn({8, 2});
  torch::Tensor from_a = Act(*a, obs, false);
  EXPECT_TRUE(torch::equal(from_a, Act(*b, obs, false)));
  EXPECT_FALSE(torch::equal(from_a, Act(*c, obs, false)));
}

TEST(DeterministicPolicyTest, TorchScriptModuleGivesTheDeterministicActionInEnvUnits) {
  std::unique_ptr<policies::DeterministicPolicy> policy = TinyPolicy(0.1, 0);
  absl::StatusOr<torch::jit::Module> module = ToTorchScript(*policy);
  ASSERT_TRUE(module.ok()) << module.status();
  torch::Tensor actions = module->forward({TinyObs()}).toTensor();
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{2, 2}));
  // Bounds [-2, 2]: env action = 2 a.
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(actions[i][j].item<float>(), 2 * kTinyActions[i][j], 1e-6) << i << j;
  }
}

TEST(DeterministicPolicyTest, LoadedParametersGiveIdenticalActions) {
  std::unique_ptr<policies::DeterministicPolicy> source = *policies::DeterministicPolicy::Create(4, 2, {8, 8}, 0.1, 1);
  std::unique_ptr<policies::DeterministicPolicy> target = *policies::DeterministicPolicy::Create(4, 2, {8, 8}, 0.1, 2);
  torch::Tensor obs = torch::randn({5, 4});
  EXPECT_FALSE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
  ASSERT_TRUE(target->LoadParameters(*source->ExportParameters()).ok());
  EXPECT_TRUE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
}

}  // namespace
}  // namespace rill::learner
