// TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in
// Actor-Critic Methods") and DDPG (Lillicrap et al. 2016) as its special
// case, matching Stable-Baselines3's TD3 update step by step. The actors run
// its policy as a DeterministicPolicy.
//
// One class for both: DDPG is TD3 with one critic (no clipped double Q), no
// target policy smoothing (target_noise 0) and no policy delay
// (policy_delay 1), which are exactly the defaults config finalization gives
// learner.ddpg (learner/algorithms/spec.cc). Per update:
//   a'   = clamp(tanh(actor_target(s')) + clamp(N(0, target_noise^2), +-clip), -1, 1)
//   y    = r + discount * min_e Q_target_e(s', a')
//   critics: loss = sum_e mean_i w_i (Q_e(s_i, a_i) - y_i)^2, one Adam step;
// and on every policy_delay-th update (the policy_delay-th, 2*policy_delay-th,
// ... counting from 1, across restarts):
//   actor: loss = -mean Q_1(s, tanh(actor(s))) through the updated critic 1
//   alone, one Adam step; then both target networks move by Polyak averaging.
// Actions are in the policy's [-1, 1] units (the actors scale them to the
// env's bounds).
//
// The learner loop creates it through the algorithm registry (FromConfig);
// tests create it from Td3Options. Speed, as in sac.h: each network is one
// flat buffer (one fused Adam pass, one lerp_ for Polyak), gradients are
// written by hand (no autograd; the actor's pass through critic 1 computes no
// critic weight gradients and only the action columns of the input
// gradient), the critic ensemble runs side by side on the cores, activations
// live in buffers reused by every update, and Update never synchronizes with
// the device.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_TD3_H_
#define RILL_LEARNER_ALGORITHMS_TD3_H_

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
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

// Defaults are TD3's (spec.cc's defaults for learner.td3).
struct Td3Options {
  // "td3" or "ddpg": what name() reports.
  std::string name = "td3";
  // The env's spaces: sizes, and the action bounds published with the policy.
  // Continuous actions only.
  envs::EnvSpec env;
  std::vector<int> hidden = {256, 256};
  double actor_lr = 1e-3;
  double critic_lr = 1e-3;
  double gamma = 0.99;
  double tau = 0.005;   // 0 freezes the target networks
  int num_critics = 2;  // 1..8; the target takes the minimum over them
  // Target policy smoothing, in the policy's [-1, 1] units: std of the
  // Gaussian noise on the target action (0: none drawn), and its clip.
  double target_noise = 0.2;
  double target_noise_clip = 0.5;
  // The actor and the targets are updated every this many updates (>= 1).
  int policy_delay = 2;
  // Std of the actors' exploration noise (published in the PolicySpec).
  double exploration_noise = 0.1;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

class Td3 final : public Algorithm {
 public:
  // From a finalized config: learner.td3 or learner.ddpg (whichever the
  // algorithm oneof selects; name() is that field's name), learner.gamma and
  // tau, network.hidden_sizes, the env's spaces. InvalidArgument when
  // neither is selected, the env's action space is discrete or a value is
  // out of range; FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for bad sizes or hyperparameters;
  // FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<Td3>> Create(const Td3Options& options);

  const std::string& name() const override { return options_.name; }
  // obs, action ([act_dim] float32), reward, terminated, next_obs, optional
  // discount (TransitionColumns).
  std::vector<ColumnRequirement> Columns() const override;
  // One gradient step as described above. InvalidArgument naming the column
  // for a missing column or a wrong shape, dtype or device (nothing is
  // changed then); Internal if LibTorch fails. Never blocks on the device.
  absl::Status Update(const Batch& batch) override;
  // The same on the typed view (tests).
  absl::Status Update(const TransitionBatch& batch);
  int64_t updates() const override { return updates_; }
  // The actor's parameters under "policy.", with a "deterministic" spec
  // carrying the env's bounds and exploration_noise.
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // |TD error| of each item of the last update, averaged over the critics
  // (before their step): [B] float32 on the device.
  torch::Tensor Priorities() const override;
  // Losses "critic" (sum over critics of the importance-weighted MSE to the
  // target) and "actor" (-mean Q_1(s, pi(s)) of the last actor step, which
  // with policy_delay > 1 may be an earlier update's); statistic "q_mean"
  // (all critics on the batch's actions, before their step).
  std::vector<Statistic> Statistics() const override;
  // "actor", "actor_target", "critic", "critic_target", the Adam states
  // ("<net>_adam.exp_avg", ".exp_avg_sq", ".step"), "updates" and, on the
  // CPU, "generator" (the target smoothing noise).
  TrainingState& state() override { return state_; }
  // The matmuls of one update (see td3.cc for the list), the actor step's
  // share divided by policy_delay (rounded down): the average per update.
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  const Td3Options& options() const { return options_; }

  // ---- Test-only hooks: tests set tiny networks by hand and fix the noise.
  // Live views of every parameter, by name: "policy.layers.<l>.weight"
  // ([out, in]) and ".bias" ([out]), the same under "policy_target",
  // "critic.layers.<l>.weight" ([E, out, in], or [out, in] for one critic),
  // "critic.layers.<l>.bias" ([E, out] or [out]), the same under
  // "critic_target". Writing into them changes the networks.
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The gradients of the last critic step and of the last actor step, under
  // "critic." and "policy.".
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // Update with `target_noise` ([B, act_dim], in policy units, before the
  // clip) on the target action instead of drawing it (applied even when the
  // options' target_noise is 0).
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& target_noise);
  // The TD target y ([B]) and the smoothed target action a' ([B, act_dim])
  // of the last update.
  torch::Tensor LastTargetForTesting() const { return last_.target; }
  torch::Tensor LastTargetActionForTesting() const { return last_.next_action; }

 private:
  Td3(const Td3Options& options, FlatMlp actor, FlatMlp critic);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  // `noise`: [B, act_dim] target smoothing noise before the clip, or
  // undefined for none.
  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise);

  Td3Options options_;
  int64_t obs_dim_, act_dim_;
  FlatMlp actor_;
  FlatMlp actor_target_;
  FlatMlp critic_;
  FlatMlp critic_target_;
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;
  // Activations and gradient buffers, reused by every update.
  MlpTrace actor_trace_, actor_target_trace_, critic_trace_, critic_target_trace_, pi_trace_;
  torch::Tensor grad_q_pi_;  // [1, B, 1], all -1/B: d actor loss / d Q_1

  // What Statistics and Priorities read, kept from the last update
  // (computing them lazily keeps reductions out of Update).
  struct Last {
    torch::Tensor q;            // [E, B, 1] critics on the batch's actions, before their step
    torch::Tensor target;       // [B]
    torch::Tensor weight;       // [B] importance weights, or undefined
    torch::Tensor next_action;  // [B, A] the smoothed target action
    torch::Tensor actor_loss;   // [] of the last actor step; undefined before it
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TD3_H_
