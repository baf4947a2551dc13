// CrossQ (Bhatt, Palenicek et al. 2024, "CrossQ: Batch Normalization in
// Deep Reinforcement Learning for Greater Sample Efficiency and
// Simplicity"): SAC without target networks, with batch renormalisation
// (batch_renorm.h) before every Linear layer of the actor and of each of
// the num_critics critics. proto/config.proto's CrossQConfig states the
// defaults. Per update, with the temperature alpha before it:
//   a' ~ pi(.|s') with the actor out of training (running statistics);
//   one training pass of the critics over the 2B rows [(s, a); (s', a')],
//   so both halves share its batch statistics: Q_e and Q'_e;
//   y = r + gamma' (min_e Q'_e - alpha logp(a'|s')), its gradient stopped;
//   critic loss = 0.5 sum_e mean_i w_i (Q_e(s_i, a_i) - y_i)^2;
//   every policy_delay updates: a training pass of the actor on s, and
//     actor loss = mean(alpha logp(a|s) - min_e Q_e(s, a)) through the
//     updated critics out of training (their weights fixed), then the
//     temperature as SAC's.
// Adam with adam_beta1 for actor and critics; the temperature's keeps 0.9.
//
// The critics are one batched module (every member's layer one matmul over
// [E, rows, in]) and the actor a module of one member, their parameters
// FlatLayout views of one buffer each, differentiated by autograd; the
// actor's output gradient comes from tanh_gaussian.h. The running
// statistics are buffers of their own, saved with the state. The actors
// run SAC's policy: ExportPolicy folds each renorm's running statistics
// into the Linear layer after it (FoldRenormIntoLinear).
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_CROSSQ_H_
#define RILL_LEARNER_ALGORITHMS_CROSSQ_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/batch_renorm.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/flat_layout.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/soft_actor.h"
#include "learner/algorithms/tanh_gaussian.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

struct CrossQOptions {
  int obs_dim = 0;
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int act_dim = 0;
  std::vector<int> hidden = {256, 256};  // the actor's
  std::vector<int> critic_hidden = {2048, 2048};
  double actor_lr = 1e-3;
  double critic_lr = 1e-3;
  double alpha_lr = 1e-3;
  double adam_beta1 = 0.5;
  double gamma = 0.99;
  double initial_alpha = 1.0;
  std::optional<double> target_entropy;  // unset: -act_dim
  bool fixed_alpha = false;
  int num_critics = 2;
  int policy_delay = 3;
  BatchRenormOptions renorm;
  std::vector<float> action_low, action_high;  // empty: [-1, 1]
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

struct CrossQStats {
  double critic_loss = 0;    // 0.5 * sum_e MSE(Q_e, y)
  double actor_loss = 0;     // at the last actor step
  double alpha = 0;
  double q_mean = 0;         // over the members on the batch's actions
  double q_next_mean = 0;    // over the members on (s', a'), the joint pass's other half
  double log_prob_mean = 0;  // at the last actor step
};

class CrossQ final : public Algorithm {
 public:
  static absl::StatusOr<std::unique_ptr<CrossQ>> Create(const CrossQOptions& options);
  // From learner.crossq of a finalized config.
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

  // InvalidArgument naming the field for bad shapes, dtypes or devices, or
  // a batch of one row (which has no batch statistics); nothing changes then.
  absl::Status Update(const TransitionBatch& batch);
  // Synchronizes with the device. Zeros before the first update.
  CrossQStats LastStats() const;
  // |Q_e - y| averaged over the members: [B].
  torch::Tensor LastTdErrors() const;

  // ---- Test-only hooks. Parameters by name: "policy.layers.<l>.weight"
  // [1, out, in], ".bias" [1, out], ".renorm_scale" / ".renorm_shift" /
  // ".running_mean" / ".running_var" [1, in]; the same under "critic" with
  // E members in place of 1; and "log_alpha".
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The last update's gradients, by the same names (no running statistics).
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // Update with the given standard-normal policy noise ([B, A] each).
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                         const torch::Tensor& noise);
  // The critics on ([R, obs], [R, A]) out of training: [E, R].
  torch::Tensor CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action);
  // The actor's output [R, 2A] out of training.
  torch::Tensor ActorForTesting(const torch::Tensor& obs);
  torch::Tensor LastTargetForTesting() const { return last_.target; }

 private:
  // A renormalised MLP's parameters and running statistics.
  struct Network {
    FlatLayout layout, stats_layout;
    torch::Tensor params;  // flat
    torch::Tensor grad;
    torch::Tensor stats;   // flat: per layer running mean, running var
    int64_t training_passes = 0;
  };

  CrossQ(const CrossQOptions& options, Network actor, Network critic);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise);
  absl::Status PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise, const torch::Tensor& alpha);
  // [E, R, out] from `input` [R, in]: a training pass (batch statistics,
  // the running ones updated) or one out of training, with the parameter
  // views `p` (the layout's Views, or its Leaves to differentiate).
  torch::Tensor Forward(Network& network, const std::vector<torch::Tensor>& p, const torch::Tensor& input,
                        bool training);
  void RegisterState();

  CrossQOptions options_;
  Network actor_, critic_;
  Temperature temperature_;
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;

  struct Last {
    torch::Tensor q;           // [E, B]
    torch::Tensor q_next;      // [E, B]
    torch::Tensor target;      // [B]
    torch::Tensor weight;      // [B] or undefined
    torch::Tensor log_alpha;   // [1] before the update
    torch::Tensor log_prob;    // [B] at the last actor step
    torch::Tensor actor_loss;  // []
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_CROSSQ_H_
