// GaussianPolicy: SAC's tanh-squashed Gaussian policy. obs -> MLP -> (mean,
// log_std), the last layer's first action_dim outputs being the mean and the
// rest the unclamped log standard deviation; action = tanh(mean + std * e),
// e ~ N(0, 1), or tanh(mean) when deterministic.
//
// The behaviour log-probability is log N(atanh(action); mean, std) summed
// over the action's dimensions: the density of the pre-tanh action, without
// tanh's Jacobian, which cancels in every ratio of two such policies at one
// action (all IMPALA takes). `action` is clamped just inside (-1, 1) first,
// so actor and learner (SquashedGaussianLogProb in torch_policy.h), both
// computing it from the float action, agree even where tanh saturated.
//
// Thread safety: none (see interface.h).
#ifndef RILL_POLICIES_GAUSSIAN_H_
#define RILL_POLICIES_GAUSSIAN_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "policies/mlp_policy.h"

namespace rill::policies {

// 1 - 1e-6: the clamp of an action before atanh (atanh stays below 7.25).
inline constexpr double kSquashEdge = 1.0 - 1e-6;

class GaussianPolicy final : public MlpPolicy {
 public:
  static constexpr char kKind[] = "gaussian";

  // InvalidArgument naming the field for a bad spec (CheckPolicySpec).
  static absl::StatusOr<std::unique_ptr<GaussianPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed);
  // A spec with bounds [-1, 1] (tests and benchmarks).
  static absl::StatusOr<std::unique_ptr<GaussianPolicy>> Create(int obs_dim, int act_dim,
                                                                const std::vector<int>& hidden, uint64_t seed);

  void Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) override;
  absl::Status ActWithBehaviour(const float* obs, int64_t batch, PolicyOutput* out) override;

  int obs_dim() const { return spec().obs_dim(); }
  int act_dim() const { return spec().action_dim(); }

 private:
  using MlpPolicy::MlpPolicy;
  // Act's exploring path; with `behaviour`, also out->log_prob and
  // out->distribution.
  void Sample(const float* obs, int64_t batch, bool behaviour, PolicyOutput* out);
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_GAUSSIAN_H_
