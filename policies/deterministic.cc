#include "policies/deterministic.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/status_macros.h"

namespace rill::policies {

absl::StatusOr<std::unique_ptr<DeterministicPolicy>> DeterministicPolicy::Create(const v1::PolicySpec& spec,
                                                                                 uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, PolicyKind::kDeterministic));
  return std::unique_ptr<DeterministicPolicy>(new DeterministicPolicy(spec, spec.action_dim(), seed));
}

absl::StatusOr<std::unique_ptr<DeterministicPolicy>> DeterministicPolicy::Create(int obs_dim, int act_dim,
                                                                                 const std::vector<int>& hidden,
                                                                                 double exploration_noise,
                                                                                 uint64_t seed) {
  v1::PolicySpec spec;
  spec.set_kind(kKind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(act_dim);
  for (int h : hidden) spec.add_hidden_sizes(h);
  spec.set_exploration_noise(exploration_noise);
  for (int i = 0; i < act_dim; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  return Create(spec, seed);
}

void DeterministicPolicy::Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) {
  const int64_t n = batch * act_dim();
  const float* head = Forward(obs, batch);
  out->actions.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out->actions[i] = std::tanh(head[i]);
  const float noise = static_cast<float>(spec().exploration_noise());
  if (deterministic || noise == 0) return;
  std::normal_distribution<float> normal(0.f, noise);
  for (float& a : out->actions) a = std::clamp(a + normal(rng()), -1.f, 1.f);
}

}  // namespace rill::policies
