#include "learner/algorithms/soft_actor.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/transitions.h"
#include "policies/gaussian.h"
#include "torch/torch.h"

namespace rill::learner {

absl::Status CheckSoftActorCriticSizes(int obs_dim, int act_dim, const std::vector<int>& hidden,
                                       const std::vector<float>& action_low, const std::vector<float>& action_high,
                                       const torch::Device& device) {
  if (obs_dim <= 0 || act_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("obs_dim (", obs_dim, ") and act_dim (", act_dim, ") must be positive"));
  }
  if (hidden.empty()) return absl::InvalidArgumentError("hidden must name at least one layer");
  for (int h : hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  if (!action_low.empty() || !action_high.empty()) {
    if (action_low.size() != static_cast<size_t>(act_dim) || action_high.size() != static_cast<size_t>(act_dim)) {
      return absl::InvalidArgumentError(
          absl::StrCat("action_low and action_high need act_dim (", act_dim, ") values each"));
    }
  }
  if (device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", device.str(), " is not available"));
  }
  if (!device.is_cpu() && !device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported device ", device.str()));
  }
  return absl::OkStatus();
}

absl::Status CheckSoftActorCriticSection(const AlgorithmContext& context,
                                         v1::LearnerConfig::AlgorithmCase config_case) {
  const std::string& name = AlgorithmName(config_case);
  if (context.config.learner().algorithm_case() != config_case) {
    return absl::InvalidArgumentError(absl::StrCat("config field learner.", name, ": is not the selected algorithm"));
  }
  if (context.env.discrete) {
    return absl::InvalidArgumentError(absl::StrCat("config field learner.", name, ": ", name,
                                                   " needs a continuous action space; ", context.env.name,
                                                   " is discrete"));
  }
  return absl::OkStatus();
}

std::vector<ColumnRequirement> ContinuousTransitionColumns(int obs_dim, envs::ObservationType observation_type,
                                                           int act_dim) {
  envs::EnvSpec env;
  env.observation_shape = {obs_dim};
  env.observation_type = observation_type;
  env.action_low.assign(act_dim, -1.f);
  env.action_high.assign(act_dim, 1.f);
  return TransitionColumns(env);
}

absl::StatusOr<v1::ParameterSet> ExportTanhGaussianPolicy(const FlatMlp& actor, int obs_dim, int act_dim,
                                                          const std::vector<int>& hidden,
                                                          const std::vector<float>& action_low,
                                                          const std::vector<float>& action_high) {
  ASSIGN_OR_RETURN(v1::ParameterSet set, ExportTanhGaussianPolicy(actor.NamedParameters(policies::kPolicyPrefix),
                                                                   obs_dim, act_dim, hidden, action_low, action_high));
  if (actor.shape().activation == v1::GELU) set.mutable_policy()->set_activation(v1::GELU);
  return set;
}

absl::StatusOr<v1::ParameterSet> ExportTanhGaussianPolicy(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, int obs_dim, int act_dim,
    const std::vector<int>& hidden, const std::vector<float>& action_low, const std::vector<float>& action_high) {
  ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(named));
  envs::EnvSpec env;
  env.observation_shape = {obs_dim};
  env.action_low = action_low;
  env.action_high = action_high;
  if (env.action_low.empty()) {
    env.action_low.assign(act_dim, -1.f);
    env.action_high.assign(act_dim, 1.f);
  }
  *set.mutable_policy() = policies::PolicySpecFor(policies::GaussianPolicy::kKind, env, hidden);
  return set;
}

torch::Tensor EnsembleCriticLoss(const torch::Tensor& q, const torch::Tensor& target, const torch::Tensor& weight) {
  torch::Tensor squared = (q - target.view({1, -1})).square();
  if (weight.defined()) squared = squared * weight.view({1, -1});
  return squared.mean(1).sum() * 0.5;
}

torch::Tensor EnsembleTdErrors(const torch::Tensor& q, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  return (q - target.view({1, -1})).abs_().mean(0);
}

Temperature MakeTemperature(double initial_alpha, double lr, double target_entropy, bool fixed,
                            const torch::Device& device) {
  Temperature temperature;
  temperature.log_alpha = torch::full({1}, std::log(initial_alpha),
                                      torch::TensorOptions().dtype(torch::kFloat32).device(device));
  temperature.grad = torch::zeros_like(temperature.log_alpha);
  temperature.adam = FlatAdam(temperature.log_alpha, lr);
  temperature.target_entropy = target_entropy;
  temperature.fixed = fixed;
  return temperature;
}

absl::Status StepActorAndTemperature(GradientAverager* averager, FlatMlp& actor, FlatAdam& actor_adam,
                                     Temperature& temperature, const torch::Tensor& log_prob) {
  return StepActorAndTemperature(averager, actor.params(), actor.grads(), actor_adam, temperature, log_prob);
}

absl::Status StepActorAndTemperature(GradientAverager* averager, const torch::Tensor& params,
                                     const torch::Tensor& grads, FlatAdam& actor_adam, Temperature& temperature,
                                     const torch::Tensor& log_prob) {
  if (!temperature.fixed) {
    at::mean_out(temperature.grad, log_prob, {0}, /*keepdim=*/true).add_(temperature.target_entropy).neg_();
  }
  RETURN_IF_ERROR(AverageOverRanks(averager, temperature.fixed
                                                 ? std::vector<torch::Tensor>{grads}
                                                 : std::vector<torch::Tensor>{grads, temperature.grad}));
  actor_adam.Step(params, grads);
  if (!temperature.fixed) temperature.adam.Step(temperature.log_alpha, temperature.grad);
  return absl::OkStatus();
}

}  // namespace rill::learner
