#include "learner/policies/gaussian.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::learner {

absl::StatusOr<std::unique_ptr<GaussianPolicy>> GaussianPolicy::Create(const v1::PolicySpec& spec, uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, kKind));
  ASSIGN_OR_RETURN(FlatMlp mlp, MakeNetwork(spec, 2 * static_cast<int64_t>(spec.action_dim()), seed));
  return std::unique_ptr<GaussianPolicy>(new GaussianPolicy(spec, std::move(mlp), seed));
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

torch::Tensor GaussianPolicy::Act(const torch::Tensor& obs, bool deterministic) {
  torch::NoGradGuard no_grad;
  const int64_t a = act_dim();
  torch::Tensor out = Forward(obs);
  torch::Tensor mean = out.narrow(1, 0, a);
  if (deterministic) return torch::tanh(mean);
  torch::Tensor log_std = out.narrow(1, a, a).clamp(kLogStdMin, kLogStdMax);
  torch::Tensor noise = torch::randn(mean.sizes(), generator(), mean.options());
  return torch::tanh(mean + log_std.exp_() * noise);
}

std::string GaussianPolicy::ScriptHead() const {
  return absl::StrCat("    a = torch.tanh(out[:, 0:", act_dim(), "])\n", kScriptScaleToBounds);
}

}  // namespace rill::learner
