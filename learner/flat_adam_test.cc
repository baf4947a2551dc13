#include "learner/flat_adam.h"

#include <vector>

#include "gtest/gtest.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

// Five steps of FlatAdam against torch::optim::Adam with the same betas,
// on the fused float32 path and on ATen's (float64).
void ExpectTorchAdam(double beta1, torch::Dtype dtype) {
  torch::manual_seed(1);
  torch::Tensor start = torch::randn({300}, torch::TensorOptions().dtype(dtype));
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 5; ++i) grads.push_back(torch::randn({300}, torch::TensorOptions().dtype(dtype)));

  torch::Tensor flat = start.clone();
  FlatAdam adam(flat, 0.01, beta1);
  for (const torch::Tensor& g : grads) adam.Step(flat, g);

  torch::Tensor reference = start.clone().requires_grad_(true);
  torch::optim::Adam optimizer({reference}, torch::optim::AdamOptions(0.01).betas({beta1, 0.999}));
  for (const torch::Tensor& g : grads) {
    reference.mutable_grad() = g.clone();
    optimizer.step();
  }
  EXPECT_TRUE(torch::allclose(flat, reference.detach(), 1e-5, 1e-6)) << "beta1 " << beta1 << " dtype " << dtype;
}

TEST(FlatAdamTest, MatchesTorchAdamWithItsDefaultBetas) {
  ExpectTorchAdam(0.9, torch::kFloat32);
  ExpectTorchAdam(0.9, torch::kFloat64);
}

TEST(FlatAdamTest, MatchesTorchAdamWithAnotherFirstMomentDecay) {
  ExpectTorchAdam(0.5, torch::kFloat32);
  ExpectTorchAdam(0.5, torch::kFloat64);
  // And differs from the default's: beta1 is used.
  torch::Tensor a = torch::ones({4}), b = torch::ones({4});
  FlatAdam slow(a, 0.1, 0.9), fast(b, 0.1, 0.5);
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor g = torch::tensor({1.f, -1.f, 2.f, 0.5f}) * (i % 2 == 0 ? i + 1 : -(i + 1));
    slow.Step(a, g);
    fast.Step(b, g);
  }
  EXPECT_FALSE(torch::allclose(a, b));
}

}  // namespace
}  // namespace rill::learner
