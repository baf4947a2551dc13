// GaussianPolicy: SAC's tanh-squashed Gaussian policy. obs -> MLP -> (mean,
// log_std), the last layer's first action_dim outputs being the mean and the
// rest the unclamped log standard deviation; action = tanh(mean + std * e),
// e ~ N(0, 1), or tanh(mean) when deterministic.
//
// Thread safety: none (see interface.h).
#ifndef RILL_LEARNER_POLICIES_GAUSSIAN_H_
#define RILL_LEARNER_POLICIES_GAUSSIAN_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/policies/mlp_policy.h"

namespace rill::learner {

// log_std is clamped to [kLogStdMin, kLogStdMax] (as in SB3 and CleanRL).
inline constexpr double kLogStdMin = -20.0;
inline constexpr double kLogStdMax = 2.0;

// log N(atanh(action); mean, exp(log_std)) summed over the action's
// dimensions: [B, A] each -> [B]. The density of the pre-tanh action,
// without tanh's Jacobian, which cancels in every ratio of two such policies
// at one action (all IMPALA takes). `action` is clamped just inside (-1, 1)
// first, so actor and learner, both computing it from the float action,
// agree even where tanh saturated.
torch::Tensor SquashedGaussianLogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                                      const torch::Tensor& action);

class GaussianPolicy final : public MlpPolicy {
 public:
  static constexpr char kKind[] = "gaussian";

  // InvalidArgument naming the field for a bad spec (CheckPolicySpec).
  static absl::StatusOr<std::unique_ptr<GaussianPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed);
  // A spec with bounds [-1, 1] (tests and benchmarks).
  static absl::StatusOr<std::unique_ptr<GaussianPolicy>> Create(int obs_dim, int act_dim,
                                                                const std::vector<int>& hidden, uint64_t seed);

  torch::Tensor Act(const torch::Tensor& obs, bool deterministic) override;
  absl::StatusOr<torch::Tensor> ActWithBehaviour(const torch::Tensor& obs, Behaviour* behaviour) override;

  int obs_dim() const { return spec().obs_dim(); }
  int act_dim() const { return spec().action_dim(); }

 private:
  using MlpPolicy::MlpPolicy;
  std::string ScriptHead() const override;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_POLICIES_GAUSSIAN_H_
