// The actors' hyperspherical network (policies/blas_hyperspherical.h), the
// policy that runs it and its TorchScript export against the learner's
// LibTorch network (learner/algorithms/hyperspherical.h) on the same
// parameters: SimbaV2 trains the one and the actors run the other.
#include "policies/blas_hyperspherical.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/hyperspherical.h"
#include "learner/networks.h"
#include "learner/observation_normalizer.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// A learner-side network of one member with every scaler, step and bias
// moved off its starting value, so that each counts.
struct Network {
  HypersphericalShape shape;
  FlatLayout layout;
  torch::Tensor params;

  Network(int64_t in, int64_t hidden, int64_t blocks, int64_t out) {
    shape = {.members = 1, .in = in, .hidden = hidden, .blocks = blocks, .out = out, .shift = 3.0};
    AddHyperspherical(shape, "policy", layout);
    at::Generator generator = at::detail::createCPUGenerator(5);
    params = InitialHyperspherical(shape, layout, generator);
    torch::manual_seed(3);
    const std::vector<torch::Tensor> p = layout.Views(params);
    for (size_t i = 0; i < p.size(); ++i) {
      if (layout.names[i].find("weight") == std::string::npos && layout.names[i].find(".w") == std::string::npos) {
        p[i].add_(0.3 * torch::randn(p[i].sizes()));
      }
    }
  }
  // [R, out].
  torch::Tensor Forward(const torch::Tensor& obs) const {
    return HypersphericalForward(shape, layout.Views(params), obs).squeeze(0);
  }
  v1::ParameterSet Parameters() const {
    std::vector<std::pair<std::string, torch::Tensor>> named;
    const std::vector<torch::Tensor> p = layout.Views(params);
    for (size_t i = 0; i < p.size(); ++i) named.emplace_back(layout.names[i], p[i][0]);
    return *ToParameterSet(named);
  }
};

std::vector<policies::NamedParameter*> Pointers(policies::BlasHypersphericalMlp& net) {
  std::vector<policies::NamedParameter*> pointers;
  for (policies::NamedParameter& param : net.parameters()) pointers.push_back(&param);
  return pointers;
}

v1::PolicySpec GaussianSpec(int obs_dim, int act_dim, int hidden, int blocks) {
  v1::PolicySpec spec;
  spec.set_kind("gaussian");
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(act_dim);
  spec.add_hidden_sizes(hidden);
  spec.mutable_hyperspherical()->set_blocks(blocks);
  spec.mutable_hyperspherical()->set_shift(3.0f);
  for (int i = 0; i < act_dim; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  return spec;
}

TEST(BlasHypersphericalTest, ForwardMatchesTheLearnersNetworkOnTheSameParameters) {
  for (const int64_t blocks : {0, 2}) {
    Network network(5, 8, blocks, 6);
    policies::BlasHypersphericalMlp blas(5, 8, static_cast<int>(blocks), 6, 3.0f, "policy", /*seed=*/1);
    ASSERT_TRUE(policies::LoadNamedParameters(network.Parameters(), Pointers(blas)).ok());
    for (const int64_t batch : {1, 7, 64}) {
      torch::manual_seed(batch);
      const torch::Tensor obs = torch::randn({batch, 5}) * 2;
      const float* out = blas.Forward(obs.data_ptr<float>(), batch);
      const torch::Tensor actual = torch::from_blob(const_cast<float*>(out), {batch, 6}, torch::kFloat32);
      EXPECT_TRUE(torch::allclose(actual, network.Forward(obs), 1e-5, 1e-5)) << blocks << " blocks, batch " << batch;
    }
  }
}

TEST(BlasHypersphericalTest, StartsWithUnitRowsAndTheLearnersScalers) {
  policies::BlasHypersphericalMlp blas(3, 4, 1, 2, 3.0f, "policy", /*seed=*/1);
  const std::vector<policies::NamedParameter>& p = blas.parameters();
  ASSERT_EQ(p.size(), 2u + 4u + 3u);
  EXPECT_EQ(p[2].name, "policy.blocks.0.w1");
  EXPECT_THAT(p[2].shape, ::testing::ElementsAre(16, 4));
  EXPECT_EQ(p[6].name, "policy.output.weight");
  for (size_t i : {0, 2, 4, 6}) {
    const torch::Tensor w = torch::from_blob(const_cast<float*>(p[i].values.data()), p[i].shape, torch::kFloat32);
    EXPECT_TRUE(torch::allclose(w.norm(2, {1}), torch::ones({p[i].shape[0]}), 1e-5, 1e-5)) << p[i].name;
  }
  EXPECT_FLOAT_EQ(p[5].values[0], 0.5f);  // alpha: 1 / (blocks + 1)
  EXPECT_FLOAT_EQ(p[7].values[0], 2.0f);  // the output's scaler: sqrt(H)
}

// The Gaussian policy of a hyperspherical spec with the learner's
// observation normaliser acts as tanh of the learner's network on the
// normalised observations; so does its TorchScript export, on disk.
TEST(BlasHypersphericalTest, PolicyAndItsTorchScriptActAsTheLearnersNetwork) {
  Network network(4, 8, 1, 4);
  v1::ParameterSet params = network.Parameters();
  *params.mutable_policy() = GaussianSpec(4, 2, 8, 1);
  ObservationNormalizer normalizer(4, 5.0, torch::kCPU);
  ASSERT_TRUE(normalizer.Update(torch::randn({100, 4}) * 3 + 1).ok());
  ASSERT_TRUE(normalizer.AddTo(&params).ok());
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(params, /*seed=*/0);

  const torch::Tensor obs = torch::randn({32, 4}) * 3 + 1;
  const torch::Tensor expected = network.Forward(normalizer.Normalize(obs)).narrow(1, 0, 2).tanh();
  EXPECT_TRUE(torch::allclose(Act(*policy, obs, /*deterministic=*/true), expected, 1e-5, 1e-5));
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/sphere.pt";
  ASSERT_TRUE(ExportTorchScript(params, path).ok());
  torch::jit::Module module = torch::jit::load(path);
  EXPECT_TRUE(torch::allclose(module.forward({obs}).toTensor(), expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(module.forward({obs[0].to(torch::kFloat64)}).toTensor(), expected[0], 1e-5, 1e-5));

  // The same module in Python, with no Rill code: its first row's action.
  const std::string out = std::string(std::getenv("TEST_TMPDIR")) + "/sphere_action.txt";
  const std::string script = absl::StrCat(
      "import torch\n", "m = torch.jit.load('", path, "')\n", "o = torch.tensor([", obs[0][0].item<float>(), ", ",
      obs[0][1].item<float>(), ", ", obs[0][2].item<float>(), ", ", obs[0][3].item<float>(), "])\n",
      "open('", out, "', 'w').write(' '.join(repr(float(v)) for v in m(o)))\n");
  const std::string command = absl::StrCat("/usr/bin/python3 -c \"", script, "\"");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream actions(out);
  for (int j = 0; j < 2; ++j) {
    double action = NAN;
    actions >> action;
    EXPECT_NEAR(action, expected[0][j].item<float>(), 1e-4) << "python, action " << j;
  }
}

TEST(BlasHypersphericalTest, SpecsItCannotRunAreRefusedByField) {
  for (const auto& [change, field] : std::vector<std::pair<void (*)(v1::PolicySpec&), std::string>>{
           {[](v1::PolicySpec& s) { s.add_hidden_sizes(8); }, "hidden_sizes"},
           {[](v1::PolicySpec& s) { s.mutable_hyperspherical()->set_blocks(17); }, "hyperspherical.blocks"},
           {[](v1::PolicySpec& s) { s.mutable_hyperspherical()->set_shift(-1); }, "hyperspherical.shift"},
           {[](v1::PolicySpec& s) { s.set_lstm_size(4); }, "hyperspherical"},
       }) {
    v1::PolicySpec spec = GaussianSpec(4, 2, 8, 1);
    change(spec);
    EXPECT_THAT(policies::MakePolicy(spec, 0).status().message(), HasSubstr(field)) << field;
  }
}

}  // namespace
}  // namespace rill::learner
