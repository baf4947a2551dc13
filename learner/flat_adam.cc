#include "learner/flat_adam.h"

#include <cmath>

#include "ATen/Parallel.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEps = 1e-8;

}  // namespace

FlatAdam::FlatAdam(const torch::Tensor& like, double lr, double beta1)
    : lr(lr),
      beta1(beta1),
      exp_avg(torch::zeros_like(like)),
      exp_avg_sq(torch::zeros_like(like)),
      scratch(torch::empty_like(like)) {}

namespace {

// Adam on float32 CPU buffers in one pass instead of six element-wise ops
// (the step is memory-bound); the same arithmetic as the ATen path below.
void AdamChunk(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
               int64_t n, float one_minus_beta1, float step_size, float bias_correction2_sqrt) {
  constexpr float kBeta2 = static_cast<float>(kAdamBeta2);
  constexpr float kOneMinusBeta2 = static_cast<float>(1 - kAdamBeta2);
  constexpr float kEps = static_cast<float>(kAdamEps);
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] + one_minus_beta1 * (gi - m[i]);
    const float vi = kBeta2 * v[i] + kOneMinusBeta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (std::sqrt(vi) / bias_correction2_sqrt + kEps);
  }
}

}  // namespace

void FlatAdam::Step(const torch::Tensor& params, const torch::Tensor& grads) {
  // torch.optim.Adam (1.13, single-tensor path), on the whole buffer at once.
  ++step;
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(kAdamBeta2, static_cast<double>(step)));
  const double step_size = lr / bias_correction1;
  if (params.is_cpu() && params.scalar_type() == torch::kFloat32 && params.is_contiguous() &&
      grads.is_contiguous()) {
    float* p = params.data_ptr<float>();
    const float* g = grads.data_ptr<float>();
    float* m = exp_avg.data_ptr<float>();
    float* v = exp_avg_sq.data_ptr<float>();
    at::parallel_for(0, params.numel(), /*grain_size=*/16384, [&](int64_t begin, int64_t end) {
      AdamChunk(p + begin, g + begin, m + begin, v + begin, end - begin, static_cast<float>(1 - beta1),
                static_cast<float>(step_size),
                static_cast<float>(bias_correction2_sqrt));
    });
    return;
  }
  exp_avg.lerp_(grads, 1 - beta1);
  exp_avg_sq.mul_(kAdamBeta2).addcmul_(grads, grads, 1 - kAdamBeta2);
  at::sqrt_out(scratch, exp_avg_sq).div_(bias_correction2_sqrt).add_(kAdamEps);
  params.addcdiv_(exp_avg, scratch, -step_size);
}

}  // namespace rill::learner
