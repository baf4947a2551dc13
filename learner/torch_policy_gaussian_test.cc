#include "policies/gaussian.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// Policy 2 -> 2 -> (mean, log_std): h = relu(obs), mean = h1 - 0.5 h2,
// log_std = 0.1 h2 - 1.
std::unique_ptr<policies::GaussianPolicy> TinyPolicy(uint64_t seed) {
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(2, 1, {2}, seed);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  auto put = [&](int i, std::vector<float> values) {
    std::string* data = set.mutable_tensors(i)->mutable_tensor()->mutable_data();
    data->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  };
  put(0, {1, 0, 0, 1});     // policy.layers.0.weight [2, 2]
  put(1, {0, 0});           // policy.layers.0.bias [2]
  put(2, {1, -0.5, 0, 0.1});  // policy.layers.1.weight [2, 2]
  put(3, {0, -1});          // policy.layers.1.bias [2]
  EXPECT_TRUE(policy->LoadParameters(set).ok());
  return policy;
}

TEST(GaussianPolicyTest, ExportsParametersUnderPolicyNames) {
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(17, 6, {256, 256}, 0);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  ASSERT_EQ(set.tensors_size(), 6);
  EXPECT_EQ(set.tensors(0).name(), "policy.layers.0.weight");
  EXPECT_THAT(set.tensors(0).tensor().shape(), ::testing::ElementsAre(256, 17));
  EXPECT_EQ(set.tensors(5).name(), "policy.layers.2.bias");
  EXPECT_THAT(set.tensors(5).tensor().shape(), ::testing::ElementsAre(12));
}

TEST(GaussianPolicyTest, DeterministicActionIsTanhOfMean) {
  std::unique_ptr<policies::GaussianPolicy> policy = TinyPolicy(0);
  torch::Tensor actions = Act(*policy, torch::tensor({{1.f, 2.f}, {-3.f, 0.5f}}), /*deterministic=*/true);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{2, 1}));
  // obs (1, 2): h = (1, 2), mean = 1 - 1 = 0 -> tanh(0) = 0.
  // obs (-3, 0.5): h = (0, 0.5), mean = -0.25 -> tanh(-0.25) = -0.24491866.
  EXPECT_NEAR(actions[0][0].item<float>(), 0.0f, 1e-7);
  EXPECT_NEAR(actions[1][0].item<float>(), -0.24491866f, 1e-6);
}

TEST(GaussianPolicyTest, SampledActionsStayInRangeAndSpreadAroundTheMean) {
  std::unique_ptr<policies::GaussianPolicy> policy = TinyPolicy(5);
  // obs (0.5, 1): h = (0.5, 1), mean = 0.5 - 0.5 = 0, log_std = 0.1 - 1 =
  // -0.9, std = exp(-0.9) = 0.40657: tanh(N(0, 0.40657^2)) has mean 0 and
  // standard deviation 0.3567 (numerical integration).
  torch::Tensor obs = torch::tensor({0.5f, 1.f}).repeat({4000, 1});
  torch::Tensor actions = Act(*policy, obs, /*deterministic=*/false);
  EXPECT_LE(actions.max().item<float>(), 1.0f);
  EXPECT_GE(actions.min().item<float>(), -1.0f);
  EXPECT_NEAR(actions.mean().item<float>(), 0.0f, 0.03);
  EXPECT_NEAR(actions.std().item<float>(), 0.3567f, 0.02);
}

TEST(GaussianPolicyTest, SameSeedSamplesSameActions) {
  std::unique_ptr<policies::GaussianPolicy> a = TinyPolicy(7);
  std::unique_ptr<policies::GaussianPolicy> b = TinyPolicy(7);
  torch::Tensor obs = torch::randn({8, 2});
  EXPECT_TRUE(torch::equal(Act(*a, obs, false), Act(*b, obs, false)));
}

TEST(GaussianPolicyTest, LoadedParametersGiveIdenticalActions) {
  std::unique_ptr<policies::GaussianPolicy> source = *policies::GaussianPolicy::Create(4, 2, {8, 8}, 1);
  std::unique_ptr<policies::GaussianPolicy> target = *policies::GaussianPolicy::Create(4, 2, {8, 8}, 2);
  torch::Tensor obs = torch::randn({5, 4});
  EXPECT_FALSE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
  ASSERT_TRUE(target->LoadParameters(*source->ExportParameters()).ok());
  EXPECT_TRUE(torch::equal(Act(*source, obs, true), Act(*target, obs, true)));
}

TEST(GaussianPolicyTest, LoadRejectsWrongShapeNamingTheTensorAndKeepsOldParameters) {
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(4, 2, {8}, 1);
  std::unique_ptr<policies::GaussianPolicy> other = *policies::GaussianPolicy::Create(4, 2, {9}, 1);
  torch::Tensor obs = torch::randn({3, 4});
  torch::Tensor before = Act(*policy, obs, true);
  absl::Status status = policy->LoadParameters(*other->ExportParameters());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.0.weight"));
  EXPECT_TRUE(torch::equal(Act(*policy, obs, true), before));
}

TEST(GaussianPolicyTest, LoadRejectsWrongName) {
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(4, 2, {8}, 1);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  set.mutable_tensors(2)->set_name("critic.layers.1.weight");
  absl::Status status = policy->LoadParameters(set);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("critic.layers.1.weight"));
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.1.weight"));
}

TEST(GaussianPolicyTest, LoadRejectsMissingTensors) {
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(4, 2, {8}, 1);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  set.mutable_tensors()->RemoveLast();
  EXPECT_EQ(policy->LoadParameters(set).code(), absl::StatusCode::kInvalidArgument);
}

TEST(GaussianPolicyTest, BehaviourIsMeanLogStdAndThePreTanhDensityOfTheDrawnAction) {
  std::unique_ptr<policies::GaussianPolicy> policy = TinyPolicy(5);
  // obs (1, 2): h = (1, 2), mean = 0, log_std = -0.8.
  const torch::Tensor obs = torch::tensor({{1.f, 2.f}}).repeat({4000, 1});
  Behaviour behaviour;
  absl::StatusOr<torch::Tensor> actions = ActWithBehaviour(*policy, obs, &behaviour);
  ASSERT_TRUE(actions.ok()) << actions.status();
  ASSERT_EQ(behaviour.distribution.sizes(), (std::vector<int64_t>{4000, 2}));
  EXPECT_NEAR(behaviour.distribution[0][0].item<float>(), 0.f, 1e-6);
  EXPECT_NEAR(behaviour.distribution[0][1].item<float>(), -0.8f, 1e-6);
  // The density of u = atanh(a) under N(0, e^-0.8), by hand in double.
  const double sigma = std::exp(-0.8);
  for (int i = 0; i < 5; ++i) {
    const double u = std::atanh(static_cast<double>((*actions)[i][0].item<float>()));
    const double expected = -0.5 * (u / sigma) * (u / sigma) - std::log(sigma) - 0.5 * std::log(2 * M_PI);
    EXPECT_NEAR(behaviour.log_prob[i].item<float>(), expected, 1e-4);
  }
  // The draws follow that Gaussian: std of atanh(a) near e^-0.8.
  EXPECT_NEAR(torch::atanh(*actions).std().item<float>(), sigma, 0.03);
}

TEST(GaussianPolicyTest, SquashedLogProbStaysFiniteAtSaturatedActions) {
  const torch::Tensor mean = torch::tensor({{9.f}, {-9.f}});
  const torch::Tensor log_std = torch::tensor({{-3.f}, {-3.f}});
  const torch::Tensor logp = SquashedGaussianLogProb(mean, log_std, torch::tensor({{1.f}, {-1.f}}));
  EXPECT_TRUE(torch::isfinite(logp).all().item<bool>());
}

}  // namespace
}  // namespace rill::learner
