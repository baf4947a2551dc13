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

absl::StatusOr<torch::Tensor> GaussianPolicy::ActWithBehaviour(const torch::Tensor& obs, Behaviour* behaviour) {
  torch::NoGradGuard no_grad;
  const int64_t a = act_dim();
  torch::Tensor out = Forward(obs);
  torch::Tensor mean = out.narrow(1, 0, a);
  torch::Tensor log_std = out.narrow(1, a, a).clamp(kLogStdMin, kLogStdMax);
  torch::Tensor noise = torch::randn(mean.sizes(), generator(), mean.options());
  torch::Tensor action = torch::tanh(mean + log_std.exp() * noise);
  behaviour->log_prob = SquashedGaussianLogProb(mean, log_std, action);
  behaviour->distribution = torch::cat({mean, log_std}, 1);
  return action;
}

torch::Tensor SquashedGaussianLogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                                      const torch::Tensor& action) {
  // 1 - 1e-6 is the float nearest below 1 that atanh keeps finite (7.25).
  constexpr double kEdge = 1.0 - 1e-6;
  constexpr double kHalfLog2Pi = 0.91893853320467274178;
  torch::Tensor u = torch::atanh(action.clamp(-kEdge, kEdge));
  torch::Tensor z = (u - mean) * torch::exp(-log_std);
  return (-0.5 * z * z - log_std - kHalfLog2Pi).sum(1);
}

std::string GaussianPolicy::ScriptHead() const {
  return absl::StrCat("    a = torch.tanh(out[:, 0:", act_dim(), "])\n", kScriptScaleToBounds);
}

}  // namespace rill::learner
