// DeterministicPolicy: the policy TD3 and DDPG train. obs -> MLP -> u
// (action_dim outputs), action = tanh(u); while exploring, actors add
// Gaussian noise of std spec.exploration_noise() (in the policy's [-1, 1]
// units) and clip the result back to [-1, 1], as Fujimoto et al. (2018) and
// Stable-Baselines3 do.
//
// Thread safety: none (see interface.h).
#ifndef RILL_POLICIES_DETERMINISTIC_H_
#define RILL_POLICIES_DETERMINISTIC_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "policies/mlp_policy.h"

namespace rill::policies {

class DeterministicPolicy final : public MlpPolicy {
 public:
  static constexpr char kKind[] = "deterministic";

  // InvalidArgument naming the field for a bad spec (CheckPolicySpec).
  static absl::StatusOr<std::unique_ptr<DeterministicPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed);
  // A spec with bounds [-1, 1] (tests and benchmarks).
  static absl::StatusOr<std::unique_ptr<DeterministicPolicy>> Create(int obs_dim, int act_dim,
                                                                     const std::vector<int>& hidden,
                                                                     double exploration_noise, uint64_t seed);

  void Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) override;

  int obs_dim() const { return spec().obs_dim(); }
  int act_dim() const { return spec().action_dim(); }

 private:
  using MlpPolicy::MlpPolicy;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_DETERMINISTIC_H_
