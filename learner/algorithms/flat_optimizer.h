// FlatOptimizer: RMSProp or Adam over one flat parameter buffer (the
// ActorCritic's), with global-norm gradient clipping, as a few element-wise
// ops and no host round trip. IMPALA and PPO step with it; their
// checkpoints save its two buffers (square_avg, exp_avg) under their own
// names.
//
// Thread safety: not thread-safe; the owning algorithm's thread calls it.
#ifndef RILL_LEARNER_ALGORITHMS_FLAT_OPTIMIZER_H_
#define RILL_LEARNER_ALGORITHMS_FLAT_OPTIMIZER_H_

#include <cstdint>

#include "proto/config.pb.h"
#include "torch/torch.h"

namespace rill::learner {

class FlatOptimizer {
 public:
  // RMSPROP: torch.optim.RMSprop (alpha 0.99, no momentum, not centered);
  // ADAM: torch.optim.Adam (betas 0.9, 0.999). Buffers like `data`.
  FlatOptimizer(v1::ImpalaConfig::Optimizer kind, double epsilon, const torch::Tensor& data);

  // Scales `grad` in place by min(1, max_norm / norm) when max_norm > 0 and
  // returns its L2 norm before clipping (a device scalar).
  static torch::Tensor ClipGradient(torch::Tensor& grad, double max_norm);

  // One step of `data` along `grad` at learning rate `lr`; `step` (1 for the
  // first) is Adam's bias-correction count.
  void Step(torch::Tensor& data, const torch::Tensor& grad, double lr, int64_t step);

  // Live buffers, for the checkpoint (RMSProp uses only square_avg).
  const torch::Tensor& square_avg() const { return square_avg_; }
  const torch::Tensor& exp_avg() const { return exp_avg_; }

 private:
  v1::ImpalaConfig::Optimizer kind_;
  double epsilon_;
  torch::Tensor square_avg_;
  torch::Tensor exp_avg_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_FLAT_OPTIMIZER_H_
