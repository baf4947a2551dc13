#include "learner/policies/deterministic.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::learner {

absl::StatusOr<std::unique_ptr<DeterministicPolicy>> DeterministicPolicy::Create(const v1::PolicySpec& spec,
                                                                                 uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, kKind));
  ASSIGN_OR_RETURN(FlatMlp mlp, MakeNetwork(spec, spec.action_dim(), seed));
  return std::unique_ptr<DeterministicPolicy>(new DeterministicPolicy(spec, std::move(mlp), seed));
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

torch::Tensor DeterministicPolicy::Act(const torch::Tensor& obs, bool deterministic) {
  torch::NoGradGuard no_grad;
  torch::Tensor action = torch::tanh(Forward(obs));
  const double noise = spec().exploration_noise();
  if (deterministic || noise == 0) return action;
  return action.add_(torch::randn(action.sizes(), generator(), action.options()).mul_(noise)).clamp_(-1, 1);
}

std::string DeterministicPolicy::ScriptHead() const {
  return absl::StrCat("    a = torch.tanh(out)\n", kScriptScaleToBounds);
}

}  // namespace rill::learner
