#include "policies/gaussian.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/status_macros.h"

namespace rill::policies {

absl::StatusOr<std::unique_ptr<GaussianPolicy>> GaussianPolicy::Create(const v1::PolicySpec& spec, uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, PolicyKind::kGaussian));
  return std::unique_ptr<GaussianPolicy>(new GaussianPolicy(spec, 2 * spec.action_dim(), seed));
}

absl::StatusOr<std::unique_ptr<GaussianPolicy>> GaussianPolicy::Create(int obs_dim, int act_dim,
                                                                       const std::vector<int>& hidden,
                                                                       uint64_t seed) {
  v1::PolicySpec spec;
  spec.set_kind(kKind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(act_dim);
  for (int h : hidden) spec.add_hidden_sizes(h);
  for (int i = 0; i < act_dim; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  return Create(spec, seed);
}

void GaussianPolicy::Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) {
  if (!deterministic) return Sample(obs, batch, /*behaviour=*/false, out);
  const int64_t a = act_dim();
  const float* head = Forward(obs, batch);
  out->actions.resize(static_cast<size_t>(batch * a));
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t j = 0; j < a; ++j) out->actions[r * a + j] = std::tanh(head[r * 2 * a + j]);
  }
}

absl::Status GaussianPolicy::ActWithBehaviour(const float* obs, int64_t batch, PolicyOutput* out) {
  Sample(obs, batch, /*behaviour=*/true, out);
  return absl::OkStatus();
}

void GaussianPolicy::Sample(const float* obs, int64_t batch, bool behaviour, PolicyOutput* out) {
  constexpr float kHalfLog2Pi = 0.91893853320467274178f;
  const int64_t a = act_dim();
  const float* head = Forward(obs, batch);
  out->actions.resize(static_cast<size_t>(batch * a));
  if (behaviour) {
    out->log_prob.assign(static_cast<size_t>(batch), 0.f);
    out->distribution.resize(static_cast<size_t>(batch * 2 * a));
  }
  std::normal_distribution<float> normal;
  for (int64_t r = 0; r < batch; ++r) {
    const float* mean = head + r * 2 * a;
    const float* raw_log_std = mean + a;
    for (int64_t j = 0; j < a; ++j) {
      const float log_std = std::clamp(raw_log_std[j], static_cast<float>(kLogStdMin), static_cast<float>(kLogStdMax));
      const float action = std::tanh(mean[j] + std::exp(log_std) * normal(rng()));
      out->actions[r * a + j] = action;
      if (!behaviour) continue;
      const float edge = static_cast<float>(kSquashEdge);
      const float u = std::atanh(std::clamp(action, -edge, edge));
      const float z = (u - mean[j]) * std::exp(-log_std);
      out->log_prob[r] += -0.5f * z * z - log_std - kHalfLog2Pi;
      out->distribution[r * 2 * a + j] = mean[j];
      out->distribution[r * 2 * a + a + j] = log_std;
    }
  }
}

}  // namespace rill::policies
