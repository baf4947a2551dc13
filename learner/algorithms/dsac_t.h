// DSAC-T, distributional soft actor-critic with three refinements (Duan et
// al. 2023): SAC whose twin critics each output a Gaussian return
// distribution Z_e(s, a) = N(Q_e, sigma_e^2) (the second output through a
// softplus). proto/config.proto's DsacTConfig states the method and its
// defaults; this file is its update, differentiated by hand as sac.h is:
//
//   target (no gradient): e* = the target critic of smaller mean at
//   (s', a'), a' ~ pi(.|s');
//     y_q = r + gamma' (Q_e*(s', a') - alpha logp(a'|s'))
//     y_z = r + gamma' (Q_e* + clip(xi, -3, 3) sigma_e* - alpha logp), xi ~ N(0, 1)
//   per critic e, with b_e the moving average of its batch-mean sigma and
//   w_e = b_e^2 + bias, the critic gradient is the paper's:
//     d/dQ_e     = -w_e (y_q - Q_e) / (sigma_e^2 + bias) / B
//     d/dsigma_e = -w_e ((Q_e - clip(y_z, Q_e +- k b_e))^2 - sigma_e^2)
//                       / (sigma_e^3 + bias) / B
//   (k = td_clip_stds); for sigma_e -> the gradient of a Gaussian's negative
//   log-likelihood, kept finite and scaled to the return's spread.
//   actor, every policy_delay updates, through the updated critics' means:
//     mean(alpha logp(a|s) - min(Q_1, Q_2)(s, a)), then the temperature as
//     SAC's, then Polyak averaging of the target critics.
//
// Both critics are one FlatMlp ensemble of two members with two outputs: one
// batched forward and backward for the pair. The actors run the exported
// policy as SAC's (policies/gaussian.h): DSAC-T changes only the learner.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_DSAC_T_H_
#define RILL_LEARNER_ALGORITHMS_DSAC_T_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/soft_actor.h"
#include "learner/algorithms/tanh_gaussian.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

struct DsacTOptions {
  int obs_dim = 0;
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int act_dim = 0;
  std::vector<int> hidden = {256, 256};
  // The actor's and the critics' hidden layers (network.activation).
  v1::Activation activation = v1::RELU;
  double actor_lr = 1e-4;
  double critic_lr = 1e-4;
  double alpha_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;
  double initial_alpha = 1.0;
  // Unset: -act_dim.
  std::optional<double> target_entropy;
  bool fixed_alpha = false;
  int policy_delay = 2;
  double td_clip_stds = 3;
  double std_average_rate = 0.005;
  double gradient_bias = 0.1;
  // The env's action bounds, for the exported PolicySpec; empty: [-1, 1].
  std::vector<float> action_low, action_high;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

struct DsacTStats {
  double critic_loss = 0;  // 0.5 * mean over critics of MSE(Q_e, y_q)
  double actor_loss = 0;   // mean(alpha * logp(a|s) - min(Q1, Q2)(s, a)), last actor step
  double alpha = 0;        // the temperature the update used
  double q_mean = 0;       // the return distributions' mean on the batch's actions
  double q_std = 0;        // their standard deviation sigma, batch mean over both critics
  double std_average = 0;  // the moving average b, mean of the two critics'
  double log_prob_mean = 0;
};

class DsacT final : public Algorithm {
 public:
  // InvalidArgument for bad sizes; FailedPrecondition for an unavailable
  // device. Ranges are config rules (spec.cc).
  static absl::StatusOr<std::unique_ptr<DsacT>> Create(const DsacTOptions& options);
  // From learner.dsac_t of a finalized config.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);

  // ---- Algorithm
  const std::string& name() const override;
  std::vector<ColumnRequirement> Columns() const override;
  absl::Status Update(const Batch& batch) override;
  int64_t updates() const override { return updates_; }
  absl::StatusOr<rill::v1::ParameterSet> ExportPolicy() const override;
  torch::Tensor Priorities() const override { return LastTdErrors(); }
  std::vector<Statistic> Statistics() const override;
  TrainingState& state() override { return state_; }
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  // One update: the critics, then every policy_delay updates the actor,
  // the temperature and the target critics. InvalidArgument naming the
  // field for bad shapes, dtypes or devices (nothing changes then).
  absl::Status Update(const TransitionBatch& batch);

  // Synchronizes with the device: read rarely. Zeros before the first update.
  DsacTStats LastStats() const;
  const DsacTOptions& options() const { return options_; }

  // |y_q - Q_e| averaged over the critics: [B], the new priorities.
  torch::Tensor LastTdErrors() const;

  // ---- Test-only hooks, as Sac's: parameters "policy.layers.<l>.*",
  // "critic.layers.<l>.*" ([2, out, in]; output 0 the mean, 1 sigma's
  // pre-softplus value), "critic_target...", "log_alpha", and "std_average"
  // ([2], b per critic; negative before the first update).
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The last update's gradients by the same names (no targets); actor and
  // log_alpha only after an update that stepped them.
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // Update with the given standard-normal noise: `next_noise` [B, A] for
  // a' ~ pi(.|s'), `noise` [B, A] for a ~ pi(.|s), `return_noise` [B] for
  // the sampled target return (clipped to +-3 inside).
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                         const torch::Tensor& noise, const torch::Tensor& return_noise);
  // y_q and y_z ([B] each) of the last update.
  torch::Tensor LastMeanTargetForTesting() const { return last_.target; }
  torch::Tensor LastSampledTargetForTesting() const { return last_.sampled_target; }

 private:
  DsacT(const DsacTOptions& options, FlatMlp actor, FlatMlp critic);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise,
                               const torch::Tensor& return_noise);
  // The actor and temperature steps through the updated critics.
  absl::Status PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise, const TanhGaussianSample& pi,
                          const torch::Tensor& alpha);
  void RegisterState();

  DsacTOptions options_;
  FlatMlp actor_;
  FlatMlp critic_;
  FlatMlp critic_target_;
  Temperature temperature_;
  torch::Tensor std_average_;     // [2]; negative until the first update
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;
  int64_t updates_ = 0;
  TrainingState state_;
  MlpTrace actor_trace_, target_trace_, critic_trace_, pi_trace_;

  struct Last {
    torch::Tensor q;               // [2, B] means on the batch's actions
    torch::Tensor sigma;           // [2, B]
    torch::Tensor target;          // [B] y_q
    torch::Tensor sampled_target;  // [B] y_z
    torch::Tensor log_alpha;       // [1] before the update
    torch::Tensor log_prob;        // [B] logp(a|s)
    torch::Tensor actor_loss;      // [] at the last actor step
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_DSAC_T_H_
