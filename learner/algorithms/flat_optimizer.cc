#include "learner/algorithms/flat_optimizer.h"

#include <cmath>

namespace rill::learner {
namespace {

// RMSProp's decay (torch.optim.RMSprop's alpha) and Adam's betas.
constexpr double kRmsDecay = 0.99;
constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;

}  // namespace

FlatOptimizer::FlatOptimizer(v1::ImpalaConfig::Optimizer kind, double epsilon, const torch::Tensor& data)
    : kind_(kind), epsilon_(epsilon), square_avg_(torch::zeros_like(data)), exp_avg_(torch::zeros_like(data)) {}

torch::Tensor FlatOptimizer::ClipGradient(torch::Tensor& grad, double max_norm) {
  torch::NoGradGuard no_grad;
  torch::Tensor norm = grad.norm();
  if (max_norm > 0) {
    // Scale by min(1, max / norm) on the device: no host round trip.
    grad.mul_((max_norm / (norm + 1e-6)).clamp_max(1.0));
  }
  return norm;
}

void FlatOptimizer::Step(torch::Tensor& data, const torch::Tensor& grad, double lr, int64_t step) {
  torch::NoGradGuard no_grad;
  if (kind_ == v1::ImpalaConfig::RMSPROP) {
    square_avg_.mul_(kRmsDecay).addcmul_(grad, grad, 1 - kRmsDecay);
    data.addcdiv_(grad, square_avg_.sqrt().add_(epsilon_), -lr);
  } else {
    exp_avg_.lerp_(grad, 1 - kAdamBeta1);
    square_avg_.mul_(kAdamBeta2).addcmul_(grad, grad, 1 - kAdamBeta2);
    const double correction1 = 1 - std::pow(kAdamBeta1, static_cast<double>(step));
    const double correction2_sqrt = std::sqrt(1 - std::pow(kAdamBeta2, static_cast<double>(step)));
    data.addcdiv_(exp_avg_, square_avg_.sqrt().div_(correction2_sqrt).add_(epsilon_), -lr / correction1);
  }
}

}  // namespace rill::learner
