// IMPALA (Espeholt et al. 2018, "IMPALA: Scalable Distributed Deep-RL with
// Importance Weighted Actor-Learner Architectures"): an actor-critic trained
// on fixed-length unrolls (items/unroll.h) that actors produced with an
// older policy; V-trace (vtrace.h) corrects for that lag.
//
// One network (actor_critic.h): a shared MLP torso (network.hidden_sizes,
// ReLU) with a policy head (categorical logits for a discrete env; the mean
// and log-std of a tanh-squashed Gaussian for a continuous one) and a
// baseline head V(x). Torso plus policy head is exactly the MLP the actors
// run (a CategoricalPolicy or GaussianPolicy), so it is exported as one. For
// image observations a convolutional torso (network.torso, TorchTorso) runs
// first, shared by both heads, and is exported with the policy.
//
// One update on B unrolls of T steps, time-major:
//   pi, V        = the network on x_0..x_T ((T+1) B rows at once), and on
//                  the final observations of truncated steps
//   log_rhos     = log pi(a_t|x_t) - behaviour_log_prob_t
//   vs, pg_adv   = VTrace(log_rhos, r, V(x_t), bootstrap V, masks)
//   loss         = -mean(log pi(a_t|x_t) pg_adv_t)                  policy gradient
//                + baseline_cost * mean(0.5 (vs_t - V(x_t))^2)      baseline
//                - entropy_cost * mean(H(pi(.|x_t)))                entropy bonus
// (means over the B x T steps), the gradient clipped to max_grad_norm in
// global L2 norm, then one RMSProp or Adam step with the learning rate
// decayed linearly to 0 over lr_decay_env_steps (when set). For the Gaussian
// the log-probabilities and the entropy are those of the pre-tanh Gaussian
// (gaussian.h: tanh's Jacobian cancels in the ratios).
//
// All parameters live in one flat buffer (a leaf for autograd): clipping and
// the optimizer step (flat_optimizer.h) are a few element-wise ops over it,
// and nothing in an update synchronizes with the device except the gather
// of the truncated steps' final observations.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_IMPALA_H_
#define RILL_LEARNER_ALGORITHMS_IMPALA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/actor_critic.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/flat_optimizer.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/vtrace.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct ImpalaOptions {
  envs::EnvSpec env;  // discrete: categorical policy; continuous: Gaussian
  std::vector<int> hidden = {64, 64};
  // A convolutional torso before the MLP (image observations [C, H, W]);
  // empty: none.
  std::vector<v1::TorsoLayer> torso;
  // LSTM units after the MLP (network.lstm); 0: feed-forward.
  int lstm_size = 0;
  int unroll_length = 20;
  VTraceOptions vtrace;  // gamma, rho_bar, c_bar, lambda
  double baseline_cost = 0.5;
  double entropy_cost = 0.01;
  double max_grad_norm = 40;  // 0: no clipping
  v1::ImpalaConfig::Optimizer optimizer = v1::ImpalaConfig::RMSPROP;  // or ADAM
  double learning_rate = 6e-4;
  double epsilon = 0.01;
  int64_t lr_decay_env_steps = 0;  // 0: constant
  bool popart = false;  // normalise the baseline's targets and the advantages
  double popart_beta = 3e-3;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

class Impala final : public Algorithm {
 public:
  // From a finalized config (learner.impala, learner.gamma, network, env).
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for bad sizes or hyperparameters.
  static absl::StatusOr<std::unique_ptr<Impala>> Create(const ImpalaOptions& options);

  const std::string& name() const override;
  // obs, action, reward, terminated, truncated, final_obs,
  // behaviour_log_prob; optional behaviour_logits (discrete) or
  // behaviour_mean and behaviour_log_std (continuous), for the KL statistic.
  std::vector<ColumnRequirement> Columns() const override;
  // One gradient step on the batch's B unrolls. InvalidArgument naming the
  // column for a missing column, a wrong shape, dtype or device, an action
  // index out of range or a NaN behaviour log-probability (nothing is
  // changed then); Internal if LibTorch fails.
  absl::Status Update(const Batch& batch) override;
  // Rows whose behaviour log-probability, rewards or observations are not
  // finite: the learner drops them, counts and logs them.
  torch::Tensor RefusedRows(const Batch& batch) const override;
  int64_t updates() const override { return updates_; }
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // Losses pg, baseline, entropy (weighted, as optimized) and total; then
  // entropy, kl (behaviour to learner policy, when the batch had the
  // behaviour distribution), clipped_rho_mean, value_mean, grad_norm
  // (before clipping), learning_rate.
  std::vector<Statistic> Statistics() const override;
  TrainingState& state() override { return state_; }
  // B unrolls of T steps: (T + 1) B rows through torso and both heads,
  // forward, weight and input gradients (truncated steps' extra rows not
  // counted).
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  // The network's parameters by name (policy.torso.*, policy.layers.<l>.*, baseline.*):
  // live views, for tests.
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const {
    return net_->named_parameters();
  }
  int64_t env_steps_learned() const { return env_steps_learned_; }

 private:
  Impala(ImpalaOptions options, std::unique_ptr<ActorCritic> net);
  double LearningRate() const;
  // PopArt's mean and standard deviation of the V-trace targets (0 and 1
  // before the first update, or without PopArt), as device scalars.
  std::pair<torch::Tensor, torch::Tensor> ValueScale() const;
  // Moves the statistics towards `vs` and rescales the baseline head so that
  // the unnormalised values it gives stay the same.
  absl::Status UpdateValueScale(const torch::Tensor& vs);

  ImpalaOptions options_;
  std::unique_ptr<ActorCritic> net_;
  FlatOptimizer optimizer_;
  // PopArt: exponential moving averages of the targets' first and second
  // moments, without bias correction (ValueScale corrects them).
  torch::Tensor value_moments_;
  int64_t updates_ = 0;
  int64_t env_steps_learned_ = 0;
  TrainingState state_;
  // The last update's statistics, on the device (read by Statistics()).
  torch::Tensor last_statistics_;
  bool last_had_kl_ = false;
  double last_learning_rate_ = 0;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_IMPALA_H_
