// Batch renormalisation (Ioffe 2017, "Batch Renormalization: Towards
// Reducing Minibatch Dependence in Batch-Normalized Models") for learners
// that differentiate with LibTorch's autograd (CrossQ), over the members of
// an ensemble at once. In training, with the batch's mean mu_B and
// sigma_B = sqrt(var_B + eps) (var_B the biased variance over the rows),
// and the running mean mu and sigma = sqrt(var + eps):
//   x_hat = (x - mu_B) / sigma_B * r + d,
//   r = clamp(sigma_B / sigma, 1 / r_max, r_max),
//   d = clamp((mu_B - mu) / sigma, -d_max, d_max),
// r and d held constant in the gradient; before `warmup_steps` training
// passes r = 1 and d = 0 (batch norm). Then the running statistics move
// `momentum` of the way to the batch's (the variance's unbiased estimate,
// as torch.nn.BatchNorm's). Out of training: x_hat = (x - mu) / sigma.
// Either way y = scale * x_hat + shift.
//
// Out of training the layer is a fixed affine map, so a renorm before a
// Linear layer folds into that layer's weights (FoldRenormIntoLinear): the
// actors run the plain MLP the folded layers make.
#ifndef RILL_LEARNER_ALGORITHMS_BATCH_RENORM_H_
#define RILL_LEARNER_ALGORITHMS_BATCH_RENORM_H_

#include <cstdint>
#include <utility>

#include "common/torch_types.h"

namespace rill::learner {

struct BatchRenormOptions {
  double momentum = 0.01;  // in (0, 1]
  double epsilon = 1e-3;   // > 0
  int64_t warmup_steps = 100000;
  double r_max = 3;  // >= 1
  double d_max = 5;  // >= 0
};

// One training pass of E members' renorm layers over `x`: [R, F] (the same
// rows for every member) or [E, R, F], R >= 2. `scale`, `shift`,
// `running_mean` and `running_var` are [E, F]; the running statistics are
// updated in place (outside autograd). `steps`: the network's training
// passes before this one, which decide the warm-up. Returns [E, R, F].
torch::Tensor BatchRenormTrain(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var, int64_t steps,
                               const BatchRenormOptions& options);

// The layer out of training, on the running statistics: [E, R, F].
torch::Tensor BatchRenormEval(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                              const torch::Tensor& running_mean, const torch::Tensor& running_var, double epsilon);

// One member's renorm out of training (`scale`, `shift`, `running_mean`,
// `running_var`: [F]) followed by Linear (`weight` [O, F], `bias` [O]) as
// one Linear layer: {weight * s, bias + weight t} with s = scale / sigma
// and t = shift - s mu.
std::pair<torch::Tensor, torch::Tensor> FoldRenormIntoLinear(const torch::Tensor& scale, const torch::Tensor& shift,
                                                             const torch::Tensor& running_mean,
                                                             const torch::Tensor& running_var, double epsilon,
                                                             const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_BATCH_RENORM_H_
