// DrQ-v2 (Yarats et al. 2021, "Mastering Visual Continuous Control:
// Improved Data-Augmented Reinforcement Learning"): continuous control from
// image observations. The actors run its policy as a DeterministicPolicy
// with a conv torso and a trunk (policies/mlp_policy.h), adding Gaussian
// noise of the scheduled std that every published PolicySpec carries.
//
// Networks (as the paper's, the sizes from the config):
//   encoder  E: the conv torso (network.torso; DRQV2_ENCODER is the paper's
//               4 x conv 32 3x3), on observations / 255;
//   actor    mu(h) = tanh(MLP(trunk_a(h))), trunk = tanh(LayerNorm(W h + b))
//               of feature_dim units, MLP of network.hidden_sizes (ReLU);
//   critics  Q_e(h, a) = MLP_e([trunk_c(h), a]), e = 1, 2, one shared trunk;
//   target critics: a Polyak copy (learner.tau) of the critics and their
//               trunk; the encoder has no target (the paper's).
// Per update, with s and s' each randomly shifted (replicate-pad by `pad`,
// crop back at an offset drawn per sample, RandomShift below), and
// std = the schedule's value at this update (Std below):
//   h  = E(aug(s)) (with its graph), h' = E(aug(s')) (no gradient)
//   a' = clamp(mu(h') + clamp(N(0, std^2), +-std_clip), -1, 1)
//   y  = r + discount * min_e Q_target_e(h', a')   (discount: gamma^n of the n-step item)
//   critic loss = sum_e mean_i w_i (Q_e(h_i, a_i) - y_i)^2: one Adam step of
//               the critics and one of the encoder (its only gradient);
//   actor loss  = -mean min_e Q_e(h.detach(), a~), a~ = mu(h.detach()) +
//               clamp(N(0, std^2), +-std_clip), clamped to [-1, 1] with a
//               straight-through gradient: one Adam step of the actor, through
//               the updated critics, whose weights stay fixed;
//   targets: critic_target = tau * critic + (1 - tau) * critic_target.
//
// Gradients come from LibTorch's autograd over views of one flat buffer per
// network (one fused Adam pass each, one lerp_ for Polyak, as the other
// algorithms keep them). The learner loop creates it through the algorithm
// registry (FromConfig); tests create it from DrqV2Options.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_DRQV2_H_
#define RILL_LEARNER_ALGORITHMS_DRQV2_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/flat_layout.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/torch_torso.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

// Defaults are the paper's (spec.cc's defaults for learner.drqv2).
struct DrqV2Options {
  // The env's spaces: image observations [C, H, W] (uint8 or float32),
  // continuous actions.
  envs::EnvSpec env;
  std::vector<v1::TorsoLayer> torso;  // required
  std::vector<int> hidden = {1024, 1024};
  int feature_dim = 50;
  double lr = 1e-4;
  double gamma = 0.99;
  double tau = 0.01;
  double std_start = 1.0;
  double std_end = 0.1;
  int64_t std_schedule_updates = 250000;
  double std_clip = 0.3;
  int pad = 4;
  double reward_scale = 1.0;  // the critics learn reward * reward_scale
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

// `images` [B, C, H, W] shifted as DrQ's augmentation does: replicate-padded
// by `pad` on every side, then cropped back to H x W from row offsets[b][0]
// and column offsets[b][1] (each in [0, 2 * pad]) of sample b. `offsets`:
// [B, 2] int64 on the images' device. Throws c10::Error on mismatched
// shapes (callers check).
torch::Tensor ShiftImages(const torch::Tensor& images, int pad, const torch::Tensor& offsets);
// The same with offsets drawn uniformly per sample from `generator` (the
// device's default generator when it holds none). `images` itself for pad 0.
torch::Tensor RandomShift(const torch::Tensor& images, int pad, c10::optional<at::Generator> generator);

class DrqV2 final : public Algorithm {
 public:
  // From a finalized config: learner.drqv2, learner.gamma and tau,
  // network.hidden_sizes and torso_layers, the env's spaces.
  // InvalidArgument when the env's actions are discrete, its observations
  // are not images or no torso is set; FailedPrecondition for an
  // unavailable device.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for bad sizes or hyperparameters;
  // FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<DrqV2>> Create(const DrqV2Options& options);

  const std::string& name() const override;
  // obs, action ([act_dim] float32), reward, terminated, next_obs, optional
  // discount (TransitionColumns).
  std::vector<ColumnRequirement> Columns() const override;
  // One gradient step as described above. InvalidArgument naming the column
  // for a missing column or a wrong shape, dtype or device (nothing is
  // changed then); Internal if LibTorch fails. Never blocks on the device.
  absl::Status Update(const Batch& batch) override;
  absl::Status Update(const TransitionBatch& batch);
  int64_t updates() const override { return updates_; }
  // The encoder's ("policy.torso.*"), the actor trunk's ("policy.trunk.*")
  // and MLP's ("policy.layers.*") parameters, with a "deterministic" spec
  // carrying the torso, the trunk, the env's bounds and the exploration std
  // of the schedule at updates().
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // |TD error| of each item of the last update, averaged over the critics
  // (before their step): [B] float32 on the device.
  torch::Tensor Priorities() const override;
  // Losses "critic" and "actor"; statistics "q_mean" (both critics on the
  // batch's actions, before their step) and "std" (the exploration std the
  // last update used).
  std::vector<Statistic> Statistics() const override;
  // "encoder", "actor", "critic", "critic_target", their Adam states
  // ("<net>_adam.exp_avg", ".exp_avg_sq", ".step"), "updates" and, on the
  // CPU, "generator" (augmentation and noise).
  TrainingState& state() override { return state_; }
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  const DrqV2Options& options() const { return options_; }
  // The exploration std after `updates` updates: std_start moving linearly
  // to std_end over std_schedule_updates, then std_end.
  double Std(int64_t updates) const;

  // ---- Test-only hooks.
  // Live views of every parameter by name: "encoder.<torso parameter>",
  // "actor.trunk.weight", ..., "actor.layers.<l>.weight", "critic.trunk.*",
  // "critic.<e>.layers.<l>.weight" / ".bias", the same under
  // "critic_target". Writing into them changes the networks.
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The flat gradients of the last critic step ("critic", "encoder") and
  // actor step ("actor").
  std::map<std::string, torch::Tensor> GradientsForTesting() const;
  // The networks on given inputs, no gradient: the encoder on
  // observations [B, obs_dim] (already scaled to floats), the actor on
  // features, the online or target critics ([2, B]) on features and actions.
  torch::Tensor EncodeForTesting(const torch::Tensor& obs) const;
  torch::Tensor ActorForTesting(const torch::Tensor& features) const;
  torch::Tensor CriticForTesting(const torch::Tensor& features, const torch::Tensor& action, bool target) const;
  // The TD target y ([B]) of the last update.
  torch::Tensor LastTargetForTesting() const { return last_.target; }

 private:
  DrqV2(const DrqV2Options& options, TorchTorso torso);
  absl::Status CheckBatch(const TransitionBatch& batch) const;
  absl::Status UpdateUnchecked(const TransitionBatch& batch);
  // tanh(LayerNorm(W h + b)) from views [W, b, scale, shift] starting at `first`.
  torch::Tensor Trunk(const std::vector<torch::Tensor>& views, size_t first, const torch::Tensor& h) const;
  // mu(h) from the actor's views.
  torch::Tensor Actor(const std::vector<torch::Tensor>& views, const torch::Tensor& features) const;
  // [2, B] from the critic's views.
  torch::Tensor Critic(const std::vector<torch::Tensor>& views, const torch::Tensor& features,
                       const torch::Tensor& action) const;
  // The encoder's features of the images `obs` [B, C, H, W], followed by
  // a Dict observation's flat leaves `flat` [B, flat_dim] (undefined:
  // none).
  torch::Tensor Encode(const torch::Tensor& encoder, const torch::Tensor& obs, const torch::Tensor& flat) const;
  // [B, act_dim] Gaussian noise of std `std`, clipped at std_clip.
  torch::Tensor ClippedNoise(int64_t b, double std, const torch::TensorOptions& options);

  DrqV2Options options_;
  int64_t obs_dim_, act_dim_;
  TorchTorso torso_;
  FlatLayout actor_layout_, critic_layout_;
  int critic_layers_ = 0;  // layers of each critic MLP
  torch::Tensor encoder_, actor_, critic_, critic_target_;  // flat; the first three require grad
  FlatAdam encoder_adam_, actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;
  torch::Tensor encoder_grad_, critic_grad_, actor_grad_;

  struct Last {
    torch::Tensor q;           // [2, B] before the critics' step
    torch::Tensor target;      // [B]
    torch::Tensor weight;      // [B] or undefined
    torch::Tensor actor_loss;  // []
    double std = 0;
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_DRQV2_H_
