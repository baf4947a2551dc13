// DroQ (Hiraoka et al. 2022, "Dropout Q-Functions for Doubly Efficient
// Reinforcement Learning"): SAC with an ensemble of Q-functions, each
// hidden layer Linear -> Dropout -> LayerNorm -> ReLU, trained at many
// updates per env step (learner.updates_per_env_step; the paper's 20).
// proto/config.proto's DroqConfig states the defaults. Per update:
//   a' ~ pi(.|s'); y = r + gamma' (min_e Q_target_e(s', a') - alpha logp(a'|s'))
//   critic loss = 0.5 sum_e mean_i w_i (Q_e(s_i, a_i) - y_i)^2
//   every policy_delay updates, through the updated critics (weights fixed):
//     actor loss = mean(alpha logp(a|s) - mean_e Q_e(s, a)), then the
//     temperature as SAC's;
//   every update: target = tau * critics + (1 - tau) * target.
// Dropout is active wherever the critics are evaluated in training (the
// target, the critic loss, the actor loss), as in the paper's code; the
// actors run only the policy, SAC's tanh-squashed Gaussian, which has none.
//
// The critics are one batched module: every member's layer in one matmul
// over [E, B, in], their parameters views of one flat buffer (one Adam
// pass, one lerp_ for Polyak), differentiated by LibTorch's autograd. The
// actor is SAC's FlatMlp with hand-written gradients (tanh_gaussian.h).
// Dropout masks come from the learner's own generator, so a restored
// checkpoint repeats the next update exactly.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_DROQ_H_
#define RILL_LEARNER_ALGORITHMS_DROQ_H_

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
#include "learner/algorithms/flat_layout.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/soft_actor.h"
#include "learner/algorithms/tanh_gaussian.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

struct DroqOptions {
  int obs_dim = 0;
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int act_dim = 0;
  std::vector<int> hidden = {256, 256};
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;
  double initial_alpha = 1.0;
  std::optional<double> target_entropy;  // unset: -act_dim
  bool fixed_alpha = false;
  double dropout_rate = 0.01;  // in [0, 1)
  bool layer_norm = true;
  int num_critics = 2;
  int policy_delay = 1;
  std::vector<float> action_low, action_high;  // empty: [-1, 1]
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

struct DroqStats {
  double critic_loss = 0;    // 0.5 * sum_e MSE(Q_e, y)
  double actor_loss = 0;     // at the last actor step
  double alpha = 0;
  double q_mean = 0;         // over the members on the batch's actions
  double q_spread = 0;       // the members' standard deviation, batch mean
  double log_prob_mean = 0;  // at the last actor step
};

class Droq final : public Algorithm {
 public:
  static absl::StatusOr<std::unique_ptr<Droq>> Create(const DroqOptions& options);
  // From learner.droq of a finalized config.
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

  // InvalidArgument naming the field for bad shapes, dtypes or devices
  // (nothing changes then).
  absl::Status Update(const TransitionBatch& batch);
  // Synchronizes with the device. Zeros before the first update.
  DroqStats LastStats() const;
  // |Q_e - y| averaged over the members: [B].
  torch::Tensor LastTdErrors() const;

  // ---- Test-only hooks. Parameters by name: "policy.layers.<l>.*" (the
  // actor, FlatMlp's), "critic.layers.<l>.weight" [E, out, in], ".bias"
  // [E, out], ".norm_scale" / ".norm_shift" [E, out] (hidden layers with
  // layer_norm), the same under "critic_target", and "log_alpha".
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The last update's gradients, by the same names (no targets).
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // Update with the given standard-normal policy noise ([B, A] each).
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                         const torch::Tensor& noise);
  // The critics on ([B, obs], [B, A]): [E, B], dropout active when `training`.
  torch::Tensor CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action, bool training);
  torch::Tensor LastTargetForTesting() const { return last_.target; }

 private:
  Droq(const DroqOptions& options, FlatMlp actor, FlatLayout critic_layout, torch::Tensor critic);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise);
  absl::Status PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise, const TanhGaussianSample& pi,
                          const torch::Tensor& alpha);
  // [E, B] from the critic views on `input` ([B, obs + act]).
  torch::Tensor Critics(const std::vector<torch::Tensor>& views, const torch::Tensor& input, bool dropout);
  void RegisterState();

  DroqOptions options_;
  FlatMlp actor_;
  FlatLayout critic_layout_;
  torch::Tensor critic_;         // flat
  torch::Tensor critic_target_;  // flat
  torch::Tensor critic_grad_;
  Temperature temperature_;
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;
  MlpTrace actor_trace_;

  struct Last {
    torch::Tensor q;           // [E, B]
    torch::Tensor target;      // [B]
    torch::Tensor weight;      // [B] or undefined
    torch::Tensor log_alpha;   // [1] before the update
    torch::Tensor log_prob;    // [B] at the last actor step
    torch::Tensor actor_loss;  // []
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_DROQ_H_
