// Soft Actor-Critic for discrete actions (Christodoulou 2019, "Soft
// Actor-Critic for Discrete Action Settings"), with automatic entropy tuning.
// The actors run its policy as a CategoricalPolicy.
//
// With a finite action set every expectation over the policy is an exact sum
// over the actions, so unlike continuous SAC nothing is sampled: the critics
// output one Q per action, the soft value of s' is
// sum_a pi(a|s') (min(Q1t, Q2t)(s', a) - alpha log pi(a|s')), and the actor
// and temperature losses are sums over pi(.|s) too.
//
// The learner loop creates it through the algorithm registry (FromConfig);
// tests create it from SacDiscreteOptions. Speed, as in sac.h: each network
// is one flat buffer (one fused Adam pass, one lerp_ for Polyak), gradients
// are written by hand (no autograd), the policy runs once over s' and s
// together, and Update synchronizes with the device only for the check of
// the action indices.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_SAC_DISCRETE_H_
#define RILL_LEARNER_ALGORITHMS_SAC_DISCRETE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/interface.h"
#include "learner/torch_torso.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct SacDiscreteOptions {
  int obs_dim = 0;
  // float32, or uint8 (images: the replay columns are uint8, scaled by 1/255 on the device).
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int num_actions = 0;  // >= 2
  // The observations' last num_actions elements are the env's action mask
  // (envs/action_mask.h): the policy gives forbidden actions no probability
  // (in acting, the soft value of s' and the policy loss), and the target
  // entropy of a state is target_entropy_fraction of the log of the number
  // of actions it allows.
  bool action_mask = false;
  std::vector<int> hidden = {256, 256};
  // A convolutional torso (image observations of observation_shape
  // [C, H, W], obs_dim = C * H * W) in front of the policy and the critics;
  // empty: none. As in SAC-AE and DrQ, one encoder is shared: the critic
  // loss trains it, the policy sees its features detached, and the target
  // critics read a Polyak-averaged copy (at tau).
  std::vector<v1::TorsoLayer> torso;
  std::vector<int64_t> observation_shape;
  // Several image leaves in observation_shape: each one's channels, a
  // torso each (EnvSpec::image_channels). Empty: one.
  std::vector<int32_t> image_channels;
  // A Dict observation's flat leaves beside the image (EnvSpec::flat_dim):
  // the torso runs on the image, and the policy and critics read its
  // features followed by these; obs_dim counts them.
  int flat_dim = 0;
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;  // 0 freezes the target critics
  double initial_alpha = 1.0;
  // Target entropy = this fraction of log(num_actions), the entropy of the
  // uniform policy. In (0, 1].
  double target_entropy_fraction = 0.89;
  // Keep alpha at initial_alpha.
  bool fixed_alpha = false;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

class SacDiscrete final : public Algorithm {
 public:
  // From a finalized config: learner.sac_discrete, learner.gamma and tau,
  // network.hidden_sizes, the env's sizes. InvalidArgument when the env's
  // action space is not discrete or a value is out of range;
  // FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for bad sizes or hyperparameters;
  // FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<SacDiscrete>> Create(const SacDiscreteOptions& options);

  const std::string& name() const override;
  // obs, action ([] int64), reward, terminated, next_obs, optional discount.
  std::vector<ColumnRequirement> Columns() const override;
  // One gradient step: critics, then the policy (through the freshly updated
  // critics), then the temperature, then Polyak-averages the target critics.
  // InvalidArgument naming the column for a missing column, a wrong shape,
  // dtype or device, or an action index outside [0, num_actions) (nothing
  // is changed then); Internal if LibTorch fails. Synchronizes with the
  // device once (the action range check).
  absl::Status Update(const Batch& batch) override;
  // The same on the typed view (tests).
  absl::Status Update(const TransitionBatch& batch);
  int64_t updates() const override { return updates_; }
  // The policy's parameters under "policy.", with a "categorical" spec.
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // |TD error| of each item of the last update on its action, averaged over
  // the two critics (before their step): [B] float32 on the device.
  torch::Tensor Priorities() const override;
  // Losses "critic", "actor", "alpha"; statistics "alpha" (the temperature
  // the update used), "q_mean" (both critics on the batch's actions),
  // "entropy" (mean entropy of pi(.|s) over the batch).
  std::vector<Statistic> Statistics() const override;
  // "policy", "critic", "critic_target", "log_alpha", the Adam states
  // ("<net>_adam.exp_avg", ".exp_avg_sq", ".step") and "updates"; with a
  // torso also "encoder", "encoder_target" and "encoder_adam.*".
  TrainingState& state() override { return state_; }
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  const SacDiscreteOptions& options() const { return options_; }
  double target_entropy() const { return target_entropy_; }

  // ---- Test-only hooks: tests set tiny networks by hand.
  // Live views of every parameter, by name: "policy.layers.<l>.weight"
  // ([out, in]) and ".bias", "critic.layers.<l>.weight" ([2, out, in]),
  // "critic.layers.<l>.bias" ([2, out]), the same under "critic_target", and
  // "log_alpha" ([1]). Writing into them changes the networks.
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The gradients of the last update, by the same names (no "critic_target";
  // "log_alpha" holds d alpha_loss / d log_alpha).
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // The TD target y ([B]) of the last update.
  torch::Tensor LastTargetForTesting() const { return last_.target; }

 private:
  SacDiscrete(const SacDiscreteOptions& options, FlatMlp policy, FlatMlp critic, TorchTorso torso);
  // The torso's features of `obs` with the encoder `encoder` (the flat
  // leaves beside them for a Dict observation).
  torch::Tensor Features(const torch::Tensor& obs, const torch::Tensor& encoder) const;
  // Views of a flat torso buffer in the torso's parameter order.
  std::vector<torch::Tensor> TorsoViews(const torch::Tensor& flat) const;
  // With an action mask: each state's target entropy [B], from its row of
  // `obs` [B, obs_dim] (the fraction of the log of the actions it allows).
  torch::Tensor MaskedEntropyTargets(const torch::Tensor& obs) const;
  // log_alpha_grad_ = entropy - target, the mean over the batch's states
  // s, from `neg_entropy` [B] (sum_a p log p at each s): target_entropy_,
  // or each state's own where `entropy_targets` [B] is defined.
  void SetAlphaGradient(const torch::Tensor& neg_entropy, const torch::Tensor& entropy_targets);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  absl::Status UpdateUnchecked(const TransitionBatch& batch);

  SacDiscreteOptions options_;
  double target_entropy_;
  FlatMlp policy_;
  FlatMlp critic_;
  FlatMlp critic_target_;
  TorchTorso torso_;               // empty without options_.torso
  torch::Tensor encoder_;          // flat torso parameters (a leaf that requires grad)
  torch::Tensor encoder_target_;   // their Polyak average
  FlatAdam encoder_adam_;
  torch::Tensor log_alpha_;       // [1]
  torch::Tensor log_alpha_grad_;  // [1]
  FlatAdam policy_adam_, critic_adam_, alpha_adam_;
  int64_t updates_ = 0;
  TrainingState state_;
  // Activations and gradient buffers, reused by every update.
  MlpTrace policy_trace_, target_trace_, critic_trace_, pi_trace_;
  torch::Tensor grad_q_;       // [2, B, A]
  torch::Tensor grad_logits_;  // [1, B, A]

  // What Statistics and Priorities read, kept from the last update
  // (computing them lazily keeps reductions out of Update).
  struct Last {
    torch::Tensor q;          // [2, B] critics on the batch's actions, before their step
    torch::Tensor target;     // [B]
    torch::Tensor log_alpha;  // [1] before the update
    torch::Tensor actor_loss; // [B] sum_a pi(a|s) (alpha log pi(a|s) - min(Q1, Q2)(s, a))
    torch::Tensor neg_entropy;  // [B] sum_a pi(a|s) log pi(a|s)
    torch::Tensor entropy_targets;  // [B] with an action mask; undefined otherwise
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SAC_DISCRETE_H_
