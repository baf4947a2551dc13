// ObservationNormalizer: the running mean and variance of the observations
// the learner samples, merged batch by batch (Chan et al.'s parallel
// update, in float64), and the normalisation it implies:
//   clip((obs - mean) / sqrt(var + 1e-8), -clip, clip).
// The learner normalises every observation column of a batch before the
// algorithm sees it and appends mean and std to each parameter set it
// publishes ("obs_norm.mean", "obs_norm.std", with the PolicySpec's
// observation_clip set), so the actors' and the evaluator's policies and
// the exported TorchScript normalise exactly as training did. The
// statistics are checkpointed with the algorithm's state.
//
// Thread safety: none; the learner's update thread owns it.
#ifndef RILL_LEARNER_OBSERVATION_NORMALIZER_H_
#define RILL_LEARNER_OBSERVATION_NORMALIZER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/torch_types.h"
#include "learner/algorithms/gradient_averager.h"
#include "learner/algorithms/training_state.h"
#include "policies/spec.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

class ObservationNormalizer {
 public:
  // `obs_dim` > 0, `clip` > 0. Statistics live on `device`. The last
  // `raw_tail` elements (an action mask, envs/action_mask.h) keep mean 0
  // and std 1: they pass through (times 1 / sqrt(1 + 1e-8)), so a mask
  // element stays above 0 exactly where it was.
  ObservationNormalizer(int64_t obs_dim, double clip, torch::Device device, int64_t raw_tail = 0);

  // Merges the observations `obs` ([..., obs_dim], any leading shape) into
  // the running statistics. InvalidArgument (nothing changed) when the last
  // dimension is not obs_dim or a value is not finite. With `ranks`
  // (data-parallel learners), every rank's observations of this update,
  // so that the ranks keep the same statistics.
  absl::Status Update(const torch::Tensor& obs, GradientAverager* ranks = nullptr);
  // clip((obs - mean) / std, -clip, clip) as float32, same shape as `obs`.
  torch::Tensor Normalize(const torch::Tensor& obs) const;

  // Appends "obs_norm.mean" and "obs_norm.std" (float32 [obs_dim]) to
  // `params` and sets its PolicySpec's observation_clip.
  absl::Status AddTo(v1::ParameterSet* params) const;

  // Mean and std as float32 CPU tensors [obs_dim]; count of observations.
  torch::Tensor mean() const;
  torch::Tensor std() const;
  double count() const;

  // "obs_norm.mean", "obs_norm.m2" (sum of squared deviations) and
  // "obs_norm.count", for checkpoints.
  TrainingState& state() { return state_; }

 private:
  // sqrt(variance + 1e-8) in float64 on the statistics' device.
  torch::Tensor StdOnDevice() const;

  int64_t obs_dim_;
  double clip_;
  int64_t raw_tail_;
  torch::Tensor mean_;   // float64 [obs_dim]
  torch::Tensor m2_;     // float64 [obs_dim]
  torch::Tensor count_;  // float64 []
  TrainingState state_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_OBSERVATION_NORMALIZER_H_
