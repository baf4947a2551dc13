#include "policies/categorical.h"

#include <cmath>
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

v1::PolicySpec Spec(int obs_dim, int num_actions, const std::vector<int>& hidden) {
  v1::PolicySpec spec;
  spec.set_kind(policies::CategoricalPolicy::kKind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(num_actions);
  for (int h : hidden) spec.add_hidden_sizes(h);
  return spec;
}

// Policy 2 -> 2 -> 3 logits: h = relu(obs), logits = (h1, h2, 0.5).
std::unique_ptr<policies::CategoricalPolicy> TinyPolicy(uint64_t seed) {
  std::unique_ptr<policies::CategoricalPolicy> policy = *policies::CategoricalPolicy::Create(Spec(2, 3, {2}), seed);
  const std::vector<std::vector<float>> values = {
      {1, 0, 0, 1},           // policy.layers.0.weight [2, 2]
      {0, 0},                 // policy.layers.0.bias [2]
      {1, 0, 0, 1, 0, 0},     // policy.layers.1.weight [3, 2]
      {0, 0, 0.5},            // policy.layers.1.bias [3]
  };
  v1::ParameterSet set = *policy->ExportParameters();
  for (size_t i = 0; i < values.size(); ++i) {
    set.mutable_tensors(static_cast<int>(i))->mutable_tensor()->mutable_data()->assign(
        reinterpret_cast<const char*>(values[i].data()), values[i].size() * sizeof(float));
  }
  EXPECT_TRUE(policy->LoadParameters(set).ok());
  return policy;
}

TEST(CategoricalPolicyTest, DeterministicActionIsTheArgmaxOfTheLogits) {
  std::unique_ptr<policies::CategoricalPolicy> policy = TinyPolicy(0);
  // logits (1, 2, 0.5) -> 1; (3, 0, 0.5) -> 0; (0, 0, 0.5) -> 2.
  torch::Tensor actions =
      Act(*policy, torch::tensor({{1.f, 2.f}, {3.f, -1.f}, {-1.f, -1.f}}), /*deterministic=*/true);
  ASSERT_EQ(actions.scalar_type(), torch::kInt64);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(actions[0].item<int64_t>(), 1);
  EXPECT_EQ(actions[1].item<int64_t>(), 0);
  EXPECT_EQ(actions[2].item<int64_t>(), 2);
}

TEST(CategoricalPolicyTest, SampledActionFrequenciesMatchTheSoftmax) {
  std::unique_ptr<policies::CategoricalPolicy> policy = TinyPolicy(3);
  // obs (0.5, 1): logits (0.5, 1, 0.5), probabilities
  // (e^0.5, e, e^0.5) / (2 e^0.5 + e) = (0.27406862, 0.45186276, 0.27406862).
  const int64_t n = 20000;
  torch::Tensor actions = Act(*policy, torch::tensor({0.5f, 1.f}).repeat({n, 1}), /*deterministic=*/false);
  ASSERT_EQ(actions.scalar_type(), torch::kInt64);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{n}));
  torch::Tensor counts = torch::bincount(actions, /*weights=*/{}, /*minlength=*/3).to(torch::kFloat64) / n;
  ASSERT_EQ(counts.size(0), 3);
  // One standard deviation of a frequency is at most sqrt(0.25 / n) = 0.0035.
  EXPECT_NEAR(counts[0].item<double>(), 0.27406862, 0.015);
  EXPECT_NEAR(counts[1].item<double>(), 0.45186276, 0.015);
  EXPECT_NEAR(counts[2].item<double>(), 0.27406862, 0.015);
}

TEST(CategoricalPolicyTest, AnActionWithNegligibleProbabilityIsNeverSampled) {
  std::unique_ptr<policies::CategoricalPolicy> policy = TinyPolicy(4);
  // obs (40, 0): logits (40, 0, 0.5): action 0 has probability 1 - 1e-17.
  torch::Tensor actions = Act(*policy, torch::tensor({40.f, 0.f}).repeat({1000, 1}), /*deterministic=*/false);
  EXPECT_TRUE(torch::equal(actions, torch::zeros({1000}, torch::kInt64)));
}

TEST(CategoricalPolicyTest, SameSeedSamplesSameActions) {
  std::unique_ptr<policies::CategoricalPolicy> a = TinyPolicy(7);
  std::unique_ptr<policies::CategoricalPolicy> b = TinyPolicy(7);
  std::unique_ptr<policies::CategoricalPolicy> c = TinyPolicy(8);
  torch::Tensor obs = torch::tensor({0.5f, 1.f}).repeat({64, 1});
  torch::Tensor first = Act(*a, obs, false);
  EXPECT_TRUE(torch::equal(first, Act(*b, obs, false)));
  EXPECT_FALSE(torch::equal(first, Act(*c, obs, false)));
}

TEST(CategoricalPolicyTest, ExportedParametersLoadIntoAnotherPolicyWithIdenticalActions) {
  std::unique_ptr<policies::CategoricalPolicy> source = *policies::CategoricalPolicy::Create(Spec(4, 5, {8, 8}), 1);
  std::unique_ptr<policies::CategoricalPolicy> target = *policies::CategoricalPolicy::Create(Spec(4, 5, {8, 8}), 2);
  torch::manual_seed(0);
  torch::Tensor obs = torch::randn({64, 4});
  EXPECT_FALSE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
  v1::ParameterSet exported = *source->ExportParameters();
  EXPECT_EQ(exported.policy().kind(), "categorical");
  EXPECT_EQ(exported.policy().action_dim(), 5);
  ASSERT_EQ(exported.tensors_size(), 6);
  EXPECT_EQ(exported.tensors(4).name(), "policy.layers.2.weight");
  EXPECT_THAT(exported.tensors(4).tensor().shape(), ::testing::ElementsAre(5, 8));
  ASSERT_TRUE(target->LoadParameters(exported).ok());
  EXPECT_TRUE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
  EXPECT_EQ(target->ExportParameters()->SerializeAsString(), exported.SerializeAsString());
}

TEST(CategoricalPolicyTest, LoadRejectsAnotherActionCountNamingTheTensor) {
  std::unique_ptr<policies::CategoricalPolicy> policy = *policies::CategoricalPolicy::Create(Spec(4, 3, {8}), 1);
  std::unique_ptr<policies::CategoricalPolicy> other = *policies::CategoricalPolicy::Create(Spec(4, 2, {8}), 1);
  absl::Status status = policy->LoadParameters(*other->ExportParameters());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.1.weight"));
}

TEST(CategoricalPolicyTest, TorchScriptModuleReturnsTheArgmaxAsInt64) {
  std::unique_ptr<policies::CategoricalPolicy> policy = *policies::CategoricalPolicy::Create(Spec(3, 4, {16, 16}), 5);
  absl::StatusOr<torch::jit::Module> module = ToTorchScript(*policy);
  ASSERT_TRUE(module.ok()) << module.status();
  torch::manual_seed(1);
  torch::Tensor obs = torch::randn({32, 3});
  torch::Tensor scripted = module->forward({obs}).toTensor();
  EXPECT_EQ(scripted.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(scripted, Act(*policy, obs, /*deterministic=*/true)));
}

TEST(CategoricalPolicyTest, CreateRejectsAnotherKindOrNoActions) {
  v1::PolicySpec spec = Spec(2, 3, {4});
  spec.set_kind("gaussian");
  absl::StatusOr<std::unique_ptr<policies::CategoricalPolicy>> policy = policies::CategoricalPolicy::Create(spec, 0);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("kind"));
  policy = policies::CategoricalPolicy::Create(Spec(2, 0, {4}), 0);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("action_dim"));
}

TEST(CategoricalPolicyTest, BehaviourIsTheLogitsAndTheLogProbabilityOfTheDrawnAction) {
  std::unique_ptr<policies::CategoricalPolicy> policy = TinyPolicy(4);
  const torch::Tensor obs = torch::tensor({{1.f, 2.f}, {3.f, -1.f}, {-1.f, -1.f}}).repeat({200, 1});
  Behaviour behaviour;
  absl::StatusOr<torch::Tensor> actions = ActWithBehaviour(*policy, obs, &behaviour);
  ASSERT_TRUE(actions.ok()) << actions.status();
  ASSERT_EQ(behaviour.distribution.sizes(), (std::vector<int64_t>{600, 3}));
  ASSERT_EQ(behaviour.log_prob.sizes(), (std::vector<int64_t>{600}));
  // logits (1, 2, 0.5) for the first row of each triple.
  EXPECT_TRUE(torch::allclose(behaviour.distribution[0], torch::tensor({1.f, 2.f, 0.5f})));
  const torch::Tensor expected = torch::log_softmax(behaviour.distribution, 1).gather(1, actions->unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(behaviour.log_prob, expected));
  // Every action is drawn: the rows with logits (0, 0, 0.5) pick each one.
  const torch::Tensor third = actions->view({200, 3}).select(1, 2);
  for (int64_t a = 0; a < 3; ++a) EXPECT_GT((third == a).sum().item<int64_t>(), 20) << a;
}

}  // namespace
}  // namespace rill::learner
