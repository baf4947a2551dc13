// What the soft actor-critics for continuous actions (SAC, DSAC-T, DroQ)
// share beside their critics: the options every one of them reads from its
// config section, the checks of their sizes, the transition columns they
// train on, the tanh-squashed Gaussian policy they export (the actors run
// it as policies/gaussian.h), and the actor's and temperature's step once
// the actor's gradient is known. Each algorithm keeps its critics, its
// update and its state; tanh_gaussian.h has the policy's math.
#ifndef RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_H_
#define RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/gradient_averager.h"
#include "learner/algorithms/interface.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

// The fields of a soft actor-critic's options that come from the env, the
// network and the learner section alike, and the ones its algorithm
// section names the same in every one of them (actor_lr, critic_lr,
// alpha_lr, initial_alpha, target_entropy, fixed_alpha); tau where the
// options have it.
template <typename Options, typename Section>
void FillSoftActorCriticOptions(const AlgorithmContext& context, const Section& section, Options& options) {
  const v1::LearnerConfig& learner = context.config.learner();
  options.obs_dim = context.env.obs_dim();
  options.observation_type = context.env.observation_type;
  options.act_dim = context.env.action_dim();
  options.hidden = context.hidden();
  if constexpr (requires { options.activation; }) options.activation = context.config.network().activation();
  options.actor_lr = section.actor_lr();
  options.critic_lr = section.critic_lr();
  options.alpha_lr = section.alpha_lr();
  options.gamma = learner.gamma();
  if constexpr (requires { options.tau; }) options.tau = learner.tau();  // not CrossQ's: no target networks
  options.initial_alpha = section.initial_alpha();
  if (section.has_target_entropy()) options.target_entropy = section.target_entropy();
  options.fixed_alpha = section.fixed_alpha();
  options.action_low = context.env.action_low;
  options.action_high = context.env.action_high;
  options.device = context.device;
  options.seed = context.seed;
}

// InvalidArgument naming learner.<name> unless `config_case` is the
// config's algorithm and the env's actions are continuous: the check every
// soft actor-critic's FromConfig makes first.
absl::Status CheckSoftActorCriticSection(const AlgorithmContext& context,
                                         v1::LearnerConfig::AlgorithmCase config_case);

// InvalidArgument for non-positive sizes or bounds of another length than
// act_dim (empty bounds: [-1, 1]); FailedPrecondition for a CUDA device
// LibTorch does not see.
absl::Status CheckSoftActorCriticSizes(int obs_dim, int act_dim, const std::vector<int>& hidden,
                                       const std::vector<float>& action_low, const std::vector<float>& action_high,
                                       const torch::Device& device);

// Transitions of float (or uint8 image) observations [obs_dim] and actions
// [act_dim] in [-1, 1].
std::vector<ColumnRequirement> ContinuousTransitionColumns(int obs_dim, envs::ObservationType observation_type,
                                                           int act_dim);

// The actor ([mean, raw log std] per action) as the tanh-squashed Gaussian
// policy the actors load, with the env's action bounds (empty: [-1, 1])
// and the actor's activation.
absl::StatusOr<v1::ParameterSet> ExportTanhGaussianPolicy(const FlatMlp& actor, int obs_dim, int act_dim,
                                                          const std::vector<int>& hidden,
                                                          const std::vector<float>& action_low,
                                                          const std::vector<float>& action_high);
// The same from named parameters: "policy.layers.<l>.weight" [out, in] and
// ".bias" [out] of a ReLU MLP of `hidden` (an actor that is no FlatMlp,
// its layers already in that form).
absl::StatusOr<v1::ParameterSet> ExportTanhGaussianPolicy(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, int obs_dim, int act_dim,
    const std::vector<int>& hidden, const std::vector<float>& action_low, const std::vector<float>& action_high);

// For an ensemble of critics' values `q` [E, B] against the target [B]
// (DroQ, CrossQ): 0.5 sum_e mean_i w_i (Q_e - y_i)^2, w the importance
// weights [B] or undefined (differentiable in `q`) ...
torch::Tensor EnsembleCriticLoss(const torch::Tensor& q, const torch::Tensor& target, const torch::Tensor& weight);
// ... and |Q_e - y| averaged over the members [B], the replay priorities.
torch::Tensor EnsembleTdErrors(const torch::Tensor& q, const torch::Tensor& target);

// The temperature log alpha, its gradient and its Adam.
struct Temperature {
  torch::Tensor log_alpha;  // [1]
  torch::Tensor grad;       // [1]
  FlatAdam adam;
  double target_entropy = 0;
  bool fixed = false;
};

// log alpha = log(initial_alpha) on `device`, its Adam at `lr`.
Temperature MakeTemperature(double initial_alpha, double lr, double target_entropy, bool fixed,
                            const torch::Device& device);

// After the actor's Backward wrote its gradients: the temperature's
// gradient d/dlog_alpha -mean(log_alpha (logp + target_entropy)) =
// -mean(logp + target_entropy) from the actor's `log_prob` ([B]), both
// averaged over the data-parallel ranks in one go, then one Adam step of
// each (the temperature's unless fixed).
absl::Status StepActorAndTemperature(GradientAverager* averager, FlatMlp& actor, FlatAdam& actor_adam,
                                     Temperature& temperature, const torch::Tensor& log_prob);
// The same for an actor whose parameters and gradient are the flat
// buffers `params` and `grads`.
absl::Status StepActorAndTemperature(GradientAverager* averager, const torch::Tensor& params,
                                     const torch::Tensor& grads, FlatAdam& actor_adam, Temperature& temperature,
                                     const torch::Tensor& log_prob);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_H_
