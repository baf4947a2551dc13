#include "learner/algorithms/batch_renorm.h"

#include "torch/torch.h"

namespace rill::learner {

torch::Tensor BatchRenormTrain(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var, int64_t steps,
                               const BatchRenormOptions& options) {
  const int64_t rows = x.size(-2);
  // One pass over the rows for both: [1, F] or [E, 1, F].
  auto [var, mean] = torch::var_mean(x, {-2}, /*unbiased=*/false, /*keepdim=*/true);
  torch::Tensor std_dev = (var + options.epsilon).sqrt();
  torch::Tensor x_hat = (x - mean) / std_dev;
  if (steps >= options.warmup_steps) {
    torch::Tensor r, d;  // constants of the graph
    {
      torch::NoGradGuard no_grad;
      torch::Tensor running_std = (running_var.unsqueeze(1) + options.epsilon).sqrt();  // [E, 1, F]
      r = (std_dev.detach() / running_std).clamp_(1 / options.r_max, options.r_max);
      d = ((mean.detach() - running_mean.unsqueeze(1)) / running_std).clamp_(-options.d_max, options.d_max);
    }
    x_hat = torch::addcmul(d, x_hat, r);
  }
  {
    torch::NoGradGuard no_grad;
    running_mean.lerp_(mean.detach().squeeze(-2), options.momentum);
    running_var.lerp_(var.detach().squeeze(-2) * (static_cast<double>(rows) / static_cast<double>(rows - 1)),
                      options.momentum);
  }
  return torch::addcmul(shift.unsqueeze(1), x_hat, scale.unsqueeze(1));
}

torch::Tensor BatchRenormEval(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                              const torch::Tensor& running_mean, const torch::Tensor& running_var, double epsilon) {
  torch::Tensor inv_std = (running_var + epsilon).rsqrt();  // [E, F]
  torch::Tensor s = scale * inv_std;
  torch::Tensor t = shift - s * running_mean;
  return torch::addcmul(t.unsqueeze(1), x, s.unsqueeze(1));
}

std::pair<torch::Tensor, torch::Tensor> FoldRenormIntoLinear(const torch::Tensor& scale, const torch::Tensor& shift,
                                                             const torch::Tensor& running_mean,
                                                             const torch::Tensor& running_var, double epsilon,
                                                             const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  torch::Tensor s = scale * (running_var + epsilon).rsqrt();
  torch::Tensor t = shift - s * running_mean;
  return {weight * s.unsqueeze(0), bias + torch::mv(weight, t)};
}

}  // namespace rill::learner
