#include "learner/networks.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

std::map<std::string, torch::Tensor> ByName(const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  return std::map<std::string, torch::Tensor>(named.begin(), named.end());
}

void Set(const torch::Tensor& target, std::vector<float> values) {
  torch::NoGradGuard no_grad;
  target.copy_(torch::tensor(values).view(target.sizes()));
}

// A 2 -> 2 -> 1 ensemble of two MLPs with weights set by hand.
FlatMlp TinyEnsemble() {
  FlatMlp mlp = *FlatMlp::Create(MlpShape{2, {2}, 1, 2}, /*seed=*/1, torch::kCPU);
  auto p = ByName(mlp.NamedParameters("net"));
  // Member 0: h = relu([x1 - x2, x1 + x2 + 1]), out = 2 h1 - h2 + 0.5.
  // Member 1: h = relu([x2, -x1]),             out = h1 + 3 h2.
  Set(p["net.layers.0.weight"], {1, -1, 1, 1, /**/ 0, 1, -1, 0});
  Set(p["net.layers.0.bias"], {0, 1, /**/ 0, 0});
  Set(p["net.layers.1.weight"], {2, -1, /**/ 1, 3});
  Set(p["net.layers.1.bias"], {0.5, /**/ 0});
  return mlp;
}

TEST(FlatMlpTest, ForwardMatchesHandComputation) {
  FlatMlp mlp = TinyEnsemble();
  MlpTrace trace;
  torch::Tensor out = mlp.Forward(torch::tensor({{3.f, 1.f}, {-1.f, 2.f}}), trace);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 2, 1}));
  // Member 0, x = (3, 1): h = relu(2, 5) = (2, 5), out = 4 - 5 + 0.5 = -0.5.
  //           x = (-1, 2): h = relu(-3, 2) = (0, 2), out = 0 - 2 + 0.5 = -1.5.
  // Member 1, x = (3, 1): h = relu(1, -3) = (1, 0), out = 1.
  //           x = (-1, 2): h = relu(2, 1) = (2, 1), out = 2 + 3 = 5.
  EXPECT_FLOAT_EQ(out[0][0][0].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(out[0][1][0].item<float>(), -1.5f);
  EXPECT_FLOAT_EQ(out[1][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out[1][1][0].item<float>(), 5.0f);
}

TEST(FlatMlpTest, BackwardMatchesHandComputation) {
  FlatMlp mlp = TinyEnsemble();
  MlpTrace trace;
  mlp.Forward(torch::tensor({{3.f, 1.f}}), trace);
  // d loss / d out = 1 for both members.
  torch::Tensor input_grad =
      mlp.Backward(trace, torch::ones({2, 1, 1}), 0, /*weight_grads=*/true, std::make_pair<int64_t, int64_t>(0, 2));
  auto g = ByName(mlp.NamedGradients("net"));
  // Member 0 at x = (3, 1): h = (2, 5) (both active). d/dW1 = h = (2, 5),
  // d/db1 = 1; d/dh = W1 = (2, -1) -> d/dW0 = outer((2, -1), x) =
  // [[6, 2], [-3, -1]], d/db0 = (2, -1); d/dx = W0^T (2, -1) = (2 - 1, -2 - 1).
  // Member 1: h = relu(1, -3) = (1, 0): only unit 0 is active. d/dW1 = (1, 0);
  // d/dh = (1, 3) masked to (1, 0) -> d/dW0 = [[3, 1], [0, 0]], d/db0 = (1, 0);
  // d/dx = W0^T (1, 0) = (0, 1).
  EXPECT_TRUE(torch::equal(g["net.layers.1.weight"], torch::tensor({2.f, 5.f, 1.f, 0.f}).view({2, 1, 2})));
  EXPECT_TRUE(torch::equal(g["net.layers.1.bias"], torch::tensor({1.f, 1.f}).view({2, 1})));
  EXPECT_TRUE(torch::equal(g["net.layers.0.weight"],
                           torch::tensor({6.f, 2.f, -3.f, -1.f, 3.f, 1.f, 0.f, 0.f}).view({2, 2, 2})));
  EXPECT_TRUE(torch::equal(g["net.layers.0.bias"], torch::tensor({2.f, -1.f, 1.f, 0.f}).view({2, 2})));
  EXPECT_TRUE(torch::equal(input_grad, torch::tensor({1.f, -3.f, 0.f, 1.f}).view({2, 1, 2})));
}

TEST(FlatMlpTest, BackwardMatchesAutogradOnRandomNetwork) {
  FlatMlp mlp = *FlatMlp::Create(MlpShape{5, {7, 4}, 3, 2}, /*seed=*/3, torch::kCPU);
  torch::Tensor x = torch::randn({6, 5});
  torch::Tensor grad_out = torch::randn({2, 6, 3});
  MlpTrace trace;
  mlp.Forward(x, trace);
  // Differentiate rows [2, 6) only, and ask for input columns [1, 4).
  torch::Tensor input_grad =
      mlp.Backward(trace, grad_out.narrow(1, 2, 4), /*row_begin=*/2, true, std::make_pair<int64_t, int64_t>(1, 4));

  // The reference: torch autograd over the same parameters.
  auto params = ByName(mlp.NamedParameters("net"));
  std::map<std::string, torch::Tensor> leaves;
  for (auto& [name, t] : params) leaves[name] = t.detach().clone().requires_grad_(true);
  torch::Tensor x_leaf = x.detach().clone().requires_grad_(true);
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 2; ++e) {
    torch::Tensor h = x_leaf.narrow(0, 2, 4);
    for (int l = 0; l < 3; ++l) {
      const std::string prefix = "net.layers." + std::to_string(l);
      h = torch::nn::functional::linear(h, leaves[prefix + ".weight"][e], leaves[prefix + ".bias"][e]);
      if (l < 2) h = torch::relu(h);
    }
    loss = loss + (h * grad_out[e].narrow(0, 2, 4)).sum();
  }
  loss.backward();
  auto grads = ByName(mlp.NamedGradients("net"));
  for (auto& [name, leaf] : leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-5, 1e-6)) << name;
  }
  // The input gradient sums over members in autograd; ours is per member.
  EXPECT_TRUE(torch::allclose(input_grad.sum(0), x_leaf.grad().narrow(0, 2, 4).narrow(1, 1, 3), 1e-5, 1e-6));
}

TEST(FlatMlpTest, CreateRejectsNonPositiveSizes) {
  EXPECT_EQ(FlatMlp::Create(MlpShape{0, {4}, 1, 1}, 0, torch::kCPU).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FlatMlp::Create(MlpShape{3, {0}, 1, 1}, 0, torch::kCPU).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FlatMlpTest, CloneCopiesParametersIntoItsOwnBuffer) {
  FlatMlp mlp = TinyEnsemble();
  FlatMlp copy = mlp.Clone();
  EXPECT_TRUE(torch::equal(copy.params(), mlp.params()));
  mlp.params().add_(1);
  EXPECT_FALSE(torch::equal(copy.params(), mlp.params()));
}

// Policy 2 -> 2 -> (mean, log_std): h = relu(obs), mean = h1 - 0.5 h2,
// log_std = 0.1 h2 - 1.
std::unique_ptr<GaussianPolicy> TinyPolicy(uint64_t seed) {
  std::unique_ptr<GaussianPolicy> policy = *GaussianPolicy::Create(2, 1, {2}, seed);
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
  std::unique_ptr<GaussianPolicy> policy = *GaussianPolicy::Create(17, 6, {256, 256}, 0);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  ASSERT_EQ(set.tensors_size(), 6);
  EXPECT_EQ(set.tensors(0).name(), "policy.layers.0.weight");
  EXPECT_THAT(set.tensors(0).tensor().shape(), ::testing::ElementsAre(256, 17));
  EXPECT_EQ(set.tensors(5).name(), "policy.layers.2.bias");
  EXPECT_THAT(set.tensors(5).tensor().shape(), ::testing::ElementsAre(12));
}

TEST(GaussianPolicyTest, DeterministicActionIsTanhOfMean) {
  std::unique_ptr<GaussianPolicy> policy = TinyPolicy(0);
  torch::Tensor actions = policy->Act(torch::tensor({{1.f, 2.f}, {-3.f, 0.5f}}), /*deterministic=*/true);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{2, 1}));
  // obs (1, 2): h = (1, 2), mean = 1 - 1 = 0 -> tanh(0) = 0.
  // obs (-3, 0.5): h = (0, 0.5), mean = -0.25 -> tanh(-0.25) = -0.24491866.
  EXPECT_NEAR(actions[0][0].item<float>(), 0.0f, 1e-7);
  EXPECT_NEAR(actions[1][0].item<float>(), -0.24491866f, 1e-6);
}

TEST(GaussianPolicyTest, SampledActionsStayInRangeAndSpreadAroundTheMean) {
  std::unique_ptr<GaussianPolicy> policy = TinyPolicy(5);
  // obs (0.5, 1): h = (0.5, 1), mean = 0.5 - 0.5 = 0, log_std = 0.1 - 1 =
  // -0.9, std = exp(-0.9) = 0.40657: tanh(N(0, 0.40657^2)) has mean 0 and
  // standard deviation 0.3567 (numerical integration).
  torch::Tensor obs = torch::tensor({0.5f, 1.f}).repeat({4000, 1});
  torch::Tensor actions = policy->Act(obs, /*deterministic=*/false);
  EXPECT_LE(actions.max().item<float>(), 1.0f);
  EXPECT_GE(actions.min().item<float>(), -1.0f);
  EXPECT_NEAR(actions.mean().item<float>(), 0.0f, 0.03);
  EXPECT_NEAR(actions.std().item<float>(), 0.3567f, 0.02);
}

TEST(GaussianPolicyTest, SameSeedSamplesSameActions) {
  std::unique_ptr<GaussianPolicy> a = TinyPolicy(7);
  std::unique_ptr<GaussianPolicy> b = TinyPolicy(7);
  torch::Tensor obs = torch::randn({8, 2});
  EXPECT_TRUE(torch::equal(a->Act(obs, false), b->Act(obs, false)));
}

TEST(GaussianPolicyTest, LoadedParametersGiveIdenticalActions) {
  std::unique_ptr<GaussianPolicy> source = *GaussianPolicy::Create(4, 2, {8, 8}, 1);
  std::unique_ptr<GaussianPolicy> target = *GaussianPolicy::Create(4, 2, {8, 8}, 2);
  torch::Tensor obs = torch::randn({5, 4});
  EXPECT_FALSE(torch::equal(source->Act(obs, true), target->Act(obs, true)));
  ASSERT_TRUE(target->LoadParameters(*source->ExportParameters()).ok());
  EXPECT_TRUE(torch::equal(source->Act(obs, true), target->Act(obs, true)));
}

TEST(GaussianPolicyTest, LoadRejectsWrongShapeNamingTheTensorAndKeepsOldParameters) {
  std::unique_ptr<GaussianPolicy> policy = *GaussianPolicy::Create(4, 2, {8}, 1);
  std::unique_ptr<GaussianPolicy> other = *GaussianPolicy::Create(4, 2, {9}, 1);
  torch::Tensor obs = torch::randn({3, 4});
  torch::Tensor before = policy->Act(obs, true);
  absl::Status status = policy->LoadParameters(*other->ExportParameters());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.0.weight"));
  EXPECT_TRUE(torch::equal(policy->Act(obs, true), before));
}

TEST(GaussianPolicyTest, LoadRejectsWrongName) {
  std::unique_ptr<GaussianPolicy> policy = *GaussianPolicy::Create(4, 2, {8}, 1);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  set.mutable_tensors(2)->set_name("critic.layers.1.weight");
  absl::Status status = policy->LoadParameters(set);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("critic.layers.1.weight"));
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.1.weight"));
}

TEST(GaussianPolicyTest, LoadRejectsMissingTensors) {
  std::unique_ptr<GaussianPolicy> policy = *GaussianPolicy::Create(4, 2, {8}, 1);
  rill::v1::ParameterSet set = *policy->ExportParameters();
  set.mutable_tensors()->RemoveLast();
  EXPECT_EQ(policy->LoadParameters(set).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::learner
