#include "learner/algorithms/tanh_gaussian.h"

#include <cmath>

#include "policies/gaussian.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

// SB3's epsilon in the tanh correction log(1 - tanh(u)^2 + eps).
constexpr double kTanhEps = 1e-6;

}  // namespace

TanhGaussianSample SampleTanhGaussian(const torch::Tensor& out, const torch::Tensor& noise, int64_t act_dim) {
  TanhGaussianSample sample;
  sample.raw_log_std = out.narrow(1, act_dim, act_dim);
  torch::Tensor log_std = sample.raw_log_std.clamp(policies::kLogStdMin, policies::kLogStdMax);
  sample.std_dev = log_std.exp();
  sample.action = torch::addcmul(out.narrow(1, 0, act_dim), sample.std_dev, noise).tanh_();
  sample.one_minus_a2 = 1 - sample.action.square();
  sample.log_prob = (noise.square().mul_(-0.5).sub_(log_std).sub_(torch::log(sample.one_minus_a2 + kTanhEps)))
                        .sum(1)
                        .sub_(0.5 * act_dim * std::log(2 * M_PI));
  return sample;
}

torch::Tensor TanhGaussianOutputGrad(const TanhGaussianSample& sample, const torch::Tensor& noise, int64_t begin,
                                     int64_t n, torch::Tensor grad_action, const torch::Tensor& grad_log_prob) {
  // With c = d loss / d logp, through a = tanh(u) and logp:
  // d/du = g_a (1 - a^2) + c * 2a (1 - a^2) / (1 - a^2 + 1e-6),
  // d/dmean = d/du, d/dlog_std = d/du * std * eps - c (zero where clamped).
  torch::Tensor action = sample.action.narrow(0, begin, n);
  torch::Tensor one_minus_a2 = sample.one_minus_a2.narrow(0, begin, n);
  torch::Tensor grad_u = grad_action.mul_(one_minus_a2)
                             .add_(action.mul(one_minus_a2).div_(one_minus_a2 + kTanhEps).mul_(2 * grad_log_prob));
  torch::Tensor raw_log_std = sample.raw_log_std.narrow(0, begin, n);
  torch::Tensor in_range = raw_log_std.ge(policies::kLogStdMin).logical_and_(raw_log_std.le(policies::kLogStdMax));
  torch::Tensor grad_log_std = (grad_u * sample.std_dev.narrow(0, begin, n) * noise.narrow(0, begin, n))
                                   .sub_(grad_log_prob)
                                   .mul_(in_range);
  return torch::cat({grad_u, grad_log_std}, 1).unsqueeze(0);
}

torch::Tensor MinOfTwinsGrad(const torch::Tensor& q0, const torch::Tensor& q1, double scale) {
  // With s = sign(Q1 - Q2): dQ1 = (1 - s) / 2, dQ2 = (1 + s) / 2.
  torch::Tensor sign = (q0 - q1).sign_();
  return torch::stack({1 - sign, sign + 1}).mul_(0.5 * scale);
}

}  // namespace rill::learner
