// GradientAverager: how an algorithm averages its gradients over a group of
// data-parallel learner ranks (learner/learner_group.h), each of which
// computed them on its own batch. An algorithm hands it, right after its
// backward pass and before clipping and its optimizer step, every gradient
// (and any figure the ranks must agree on, such as a loss whose finiteness
// decides whether to step) of that step at once: one collective per
// optimizer step. Afterwards every rank holds the same means, clips them
// by the same norm and steps its identical optimizer, so the ranks' parameters
// stay equal. Without a group (one learner) the algorithm holds none and
// nothing is averaged.
//
// Thread safety: called from the algorithm's thread only.
#ifndef RILL_LEARNER_ALGORITHMS_GRADIENT_AVERAGER_H_
#define RILL_LEARNER_ALGORITHMS_GRADIENT_AVERAGER_H_

#include <vector>

#include "absl/status/status.h"
#include "common/torch_types.h"

namespace rill::learner {

class GradientAverager {
 public:
  virtual ~GradientAverager() = default;

  // The ranks of the group.
  virtual int world_size() const = 0;

  // Replaces every tensor, in place, by its mean over the ranks. The
  // tensors are floating point of one dtype (any shapes) on the learner's
  // device. An error
  // (Unavailable, DeadlineExceeded) names the rank that failed when it can:
  // the update must stop, since the ranks no longer agree.
  virtual absl::Status Average(const std::vector<torch::Tensor>& tensors) = 0;
};

// Average with `averager`, or nothing when it is null (one learner).
inline absl::Status AverageOverRanks(GradientAverager* averager, const std::vector<torch::Tensor>& tensors) {
  return averager == nullptr ? absl::OkStatus() : averager->Average(tensors);
}

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_GRADIENT_AVERAGER_H_
