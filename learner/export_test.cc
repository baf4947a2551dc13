// Every policy kind exported as TorchScript runs under torch::jit::load,
// with no Rill code, and gives the policy class's deterministic action in
// env units (or its action index).
#include <cstdlib>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "learner/networks.h"
#include "policies/registry.h"
#include "torch/script.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

v1::PolicySpec Spec(const std::string& kind, int obs_dim, int action_dim) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(action_dim);
  spec.add_hidden_sizes(16);
  spec.add_hidden_sizes(8);
  spec.set_exploration_noise(0.1);
  if (kind != "categorical") {
    for (int i = 0; i < action_dim; ++i) {
      spec.add_action_low(-2.f - i);  // asymmetric in the last dimension below
      spec.add_action_high(i == action_dim - 1 ? 0.5f : 2.f + i);
    }
  }
  return spec;
}

std::string Path(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

// The policy's deterministic action, mapped to env units as the actor does.
torch::Tensor EnvUnits(const v1::PolicySpec& spec, const torch::Tensor& a) {
  torch::Tensor low = torch::tensor(std::vector<float>(spec.action_low().begin(), spec.action_low().end()));
  torch::Tensor high = torch::tensor(std::vector<float>(spec.action_high().begin(), spec.action_high().end()));
  return low + (a + 1) * 0.5 * (high - low);
}

class ExportTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportTest, LoadedModuleGivesThePolicysDeterministicActions) {
  const v1::PolicySpec spec = Spec(GetParam(), 5, 3);
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(spec, /*seed=*/11);
  const std::string path = Path(GetParam() + ".pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());

  torch::jit::Module module = torch::jit::load(path);
  const torch::Tensor obs = torch::randn({64, 5});
  const torch::Tensor scripted = module.forward({obs}).toTensor();
  const torch::Tensor expected = Act(*policy, obs, /*deterministic=*/true);
  if (GetParam() == "categorical") {
    EXPECT_EQ(scripted.scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(scripted, expected));
  } else {
    EXPECT_EQ(scripted.scalar_type(), torch::kFloat32);
    ASSERT_EQ(scripted.sizes(), (std::vector<int64_t>{64, 3}));
    EXPECT_TRUE(torch::allclose(scripted, EnvUnits(spec, expected), 1e-5, 1e-6));
    EXPECT_LE(scripted.select(1, 2).max().item<float>(), 0.5f);
  }
}

// A policy whose spec normalises observations acts on
// clip((obs - mean) / std, -clip, clip) with the mean and std of its
// parameter set, in C++ and in the exported module alike.
TEST_P(ExportTest, NormalizingPolicyActsOnNormalizedObservations) {
  const v1::PolicySpec plain_spec = Spec(GetParam(), 5, 3);
  std::unique_ptr<policies::Policy> plain = *policies::MakePolicy(plain_spec, /*seed=*/11);
  v1::ParameterSet params = *plain->ExportParameters();
  const torch::Tensor mean = torch::tensor({1.0f, -2.0f, 0.0f, 30.0f, 0.5f});
  const torch::Tensor std = torch::tensor({0.5f, 2.0f, 1.0f, 10.0f, 0.01f});
  v1::NamedTensor* mean_tensor = params.add_tensors();
  v1::NamedTensor* std_tensor = params.add_tensors();
  *mean_tensor = (*ToParameterSet({{policies::kObsNormMeanName, mean}})).tensors(0);
  *std_tensor = (*ToParameterSet({{policies::kObsNormStdName, std}})).tensors(0);
  params.mutable_policy()->set_observation_clip(4);
  absl::StatusOr<std::unique_ptr<policies::Policy>> normalizing = policies::PolicyFromParameters(params, /*seed=*/11);
  ASSERT_TRUE(normalizing.ok()) << normalizing.status();

  const torch::Tensor obs = torch::randn({64, 5}) * 20;  // far outside: the clip matters
  const torch::Tensor expected = Act(*plain, ((obs - mean) / std).clamp(-4, 4), /*deterministic=*/true);
  const torch::Tensor acted = Act(**normalizing, obs, /*deterministic=*/true);
  EXPECT_TRUE(torch::allclose(acted.to(torch::kFloat32), expected.to(torch::kFloat32), 1e-5, 1e-6));

  // Exported parameters round-trip with the statistics, and the module agrees.
  v1::ParameterSet exported = *(*normalizing)->ExportParameters();
  EXPECT_EQ(exported.tensors(exported.tensors_size() - 1).name(), policies::kObsNormStdName);
  const std::string path = Path(GetParam() + "-normalized.pt");
  ASSERT_TRUE(ExportTorchScript(exported, path).ok());
  const torch::Tensor scripted = torch::jit::load(path).forward({obs}).toTensor();
  if (GetParam() == "categorical") {
    EXPECT_TRUE(torch::equal(scripted, expected));
  } else {
    EXPECT_TRUE(torch::allclose(scripted, EnvUnits(plain_spec, expected), 1e-5, 1e-5));
  }

  // A set that says it normalises but lacks the statistics is refused.
  v1::ParameterSet missing = *plain->ExportParameters();
  missing.mutable_policy()->set_observation_clip(4);
  EXPECT_THAT(policies::PolicyFromParameters(missing, 1).status().message(), HasSubstr("expected"));
}

INSTANTIATE_TEST_SUITE_P(EveryKind, ExportTest, ::testing::Values("gaussian", "deterministic", "categorical"));

TEST(ExportTest, UnknownKindIsRefusedNamingIt) {
  v1::ParameterSet params;
  params.mutable_policy()->set_kind("beta");
  absl::Status status = ExportTorchScript(params, Path("beta.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("beta"));
}

TEST(ExportTest, ParametersOfAnotherShapeAreRefusedNamingTheTensor) {
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(Spec("gaussian", 5, 3), 1);
  v1::ParameterSet params = *policy->ExportParameters();
  params.mutable_policy()->set_obs_dim(6);
  absl::Status status = ExportTorchScript(params, Path("wrong.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.0.weight"));
}

TEST(ExportTest, MissingBoundsAreRefusedNamingTheField) {
  v1::PolicySpec spec = Spec("deterministic", 5, 3);
  spec.clear_action_high();
  EXPECT_THAT(policies::MakePolicy(spec, 1).status().message(), HasSubstr("action_low"));
}

}  // namespace
}  // namespace rill::learner
