// The tanh-squashed Gaussian policy of the soft actor-critics (SAC, DSAC-T),
// with its gradients written out: the learners differentiate by hand
// (learner/networks.h), so what the policy's sample, log-probability and
// their gradients are is stated once, here.
//
// The actor outputs [mean, raw log std] per action dimension; log std is the
// raw one clamped to [kLogStdMin, kLogStdMax] (policies/gaussian.h, which
// the actors run). A sample is a = tanh(u), u = mean + std * eps, and its
// log-probability uses the noise directly:
//   logp = sum_j (-eps_j^2 / 2 - log std_j - log(1 - a_j^2 + 1e-6)) - A log(2 pi) / 2,
// the tanh correction with Stable-Baselines3's epsilon.
#ifndef RILL_LEARNER_ALGORITHMS_TANH_GAUSSIAN_H_
#define RILL_LEARNER_ALGORITHMS_TANH_GAUSSIAN_H_

#include <cstdint>

#include "common/torch_types.h"

namespace rill::learner {

struct TanhGaussianSample {
  torch::Tensor raw_log_std;   // [R, A] before the clamp
  torch::Tensor std_dev;       // [R, A]
  torch::Tensor action;        // [R, A] tanh(u)
  torch::Tensor one_minus_a2;  // [R, A] 1 - a^2
  torch::Tensor log_prob;      // [R]
};

// Samples every row of the actor's output `out` ([R, 2A]) with the
// standard-normal `noise` ([R, A]).
TanhGaussianSample SampleTanhGaussian(const torch::Tensor& out, const torch::Tensor& noise, int64_t act_dim);

// d loss / d out for `n` rows from row `begin` of `sample`, for the loss
// mean_i(c' logp_i - f(a_i)) written as: `grad_action` = d loss / d a of
// those rows ([n, A], consumed), `grad_log_prob` = d loss / d logp_i (a
// [1] tensor, the same for every row: alpha / B for SAC's actor loss).
// Returns [1, n, 2A], the layout FlatMlp::Backward takes. Where the raw
// log std lies outside the clamp its gradient is zero.
torch::Tensor TanhGaussianOutputGrad(const TanhGaussianSample& sample, const torch::Tensor& noise, int64_t begin,
                                     int64_t n, torch::Tensor grad_action, const torch::Tensor& grad_log_prob);

// d mean_i min(Q1_i, Q2_i) / d Q_e for twin critics' values `q0`, `q1`
// ([B, 1] each), scaled by `scale`: [2, B, 1]. Ties split the gradient
// evenly, as torch.min does.
torch::Tensor MinOfTwinsGrad(const torch::Tensor& q0, const torch::Tensor& q1, double scale);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TANH_GAUSSIAN_H_
