// FlatAdam: Adam over one flat parameter buffer (a whole FlatMlp, or a
// scalar like SAC's log temperature), fused into one pass on the CPU. Used by
// every algorithm in learner/algorithms/.
//
// Thread safety: none; the owning algorithm's thread calls it.
#ifndef RILL_LEARNER_FLAT_ADAM_H_
#define RILL_LEARNER_FLAT_ADAM_H_

#include <cstdint>

#include "common/torch_types.h"

namespace rill::learner {

// Adam (Kingma & Ba; torch.optim.Adam's defaults: betas 0.9 / 0.999, eps
// 1e-8, no weight decay) over one flat parameter buffer. beta1 may differ
// (CrossQ's 0.5).
struct FlatAdam {
  double lr = 3e-4;
  double beta1 = 0.9;
  int64_t step = 0;
  torch::Tensor exp_avg, exp_avg_sq, scratch;

  FlatAdam(const torch::Tensor& like, double lr, double beta1 = 0.9);
  FlatAdam() = default;
  void Step(const torch::Tensor& params, const torch::Tensor& grads);
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_FLAT_ADAM_H_
