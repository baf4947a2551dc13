// SimbaV2 (Lee et al. 2025, "Hyperspherical Normalization for Scalable Deep
// RL"): SAC's tanh-squashed Gaussian actor and tuned temperature, with
// hyperspherical networks (hyperspherical.h) for the actor and for twin
// distributional critics. proto/config.proto's SimbaV2Config states the
// defaults. The observations come normalised by the learner's running
// statistics (the spec sets learner.normalize_observations). Per update,
// with the temperature alpha before it:
//   the reward scale c = max|r| / ((1 - gamma^n_step) v_max), max|r| the
//     largest reward seen (this batch's included; 1 while it is 0), so
//     that |sum_k gamma^k r_k / c| <= v_max: no return leaves the atoms;
//   a' ~ pi(.|s'); the target critics' distributions over the atoms z on
//     (s', a'); per row the one whose mean is lower, its atoms moved to
//     r / c + gamma' (z - alpha logp(a'|s')) and projected back onto z
//     (ProjectOntoAtoms, C51's);
//   critic loss = sum_e mean_i w_i CE(target_i, softmax(critic_e(s_i, a_i)));
//   actor loss = mean(alpha logp(a|s) - min_e E[Q_e(s, a)]), then the
//     temperature as SAC's;
//   after each Adam step every weight matrix's rows go back to unit norm;
//   the target critics move tau of the way (and are projected likewise).
// Adam without weight decay; the actor's and critics' rates fall linearly
// to final_lr_fraction of themselves over lr_decay_updates updates.
// Critic values (statistics, the target) are in units of c; q_mean is
// reported in reward units.
//
// The networks are FlatLayout modules differentiated by autograd (the
// critics one batched module of 2 members); the actors run the actor as
// policies/gaussian.h with PolicySpec.hyperspherical
// (policies/blas_hyperspherical.h).
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_SIMBAV2_H_
#define RILL_LEARNER_ALGORITHMS_SIMBAV2_H_

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
#include "learner/algorithms/hyperspherical.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/soft_actor.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

struct SimbaV2Options {
  int obs_dim = 0;
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int act_dim = 0;
  std::vector<int> hidden;  // unused: FillSoftActorCriticOptions fills it
  int actor_hidden = 128;
  int actor_blocks = 1;
  int critic_hidden = 512;
  int critic_blocks = 2;
  int num_atoms = 101;
  double v_max = 5;
  double shift = 3;
  double actor_lr = 1e-4;
  double critic_lr = 1e-4;
  double alpha_lr = 1e-4;
  double final_lr_fraction = 0.5;
  int64_t lr_decay_updates = 1000000;
  double gamma = 0.99;
  int n_step = 1;
  double tau = 0.005;
  double initial_alpha = 0.01;
  std::optional<double> target_entropy;  // unset: -act_dim / 2
  bool fixed_alpha = false;
  std::vector<float> action_low, action_high;  // empty: [-1, 1]
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

struct SimbaV2Stats {
  double critic_loss = 0;    // sum_e mean_i w_i CE
  double actor_loss = 0;
  double alpha = 0;
  double q_mean = 0;         // the critics' means on the batch's actions, in reward units
  double reward_scale = 0;   // c
  double log_prob_mean = 0;
};

// C51's projection (Bellemare et al. 2017): the distribution `probs` [B, K]
// whose atoms moved to `values` [B, K] (clamped to [-v_max, v_max]), put
// back on the K evenly spaced atoms of [-v_max, v_max], each atom's mass
// split between its two neighbours in proportion to nearness: [B, K].
torch::Tensor ProjectOntoAtoms(const torch::Tensor& probs, const torch::Tensor& values, double v_max);

class SimbaV2 final : public Algorithm {
 public:
  // InvalidArgument naming the field for bad options.
  static absl::StatusOr<std::unique_ptr<SimbaV2>> Create(const SimbaV2Options& options);
  // From learner.simbav2 of a finalized config.
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

  // InvalidArgument naming the field for bad shapes, dtypes or devices;
  // nothing changes then.
  absl::Status Update(const TransitionBatch& batch);
  SimbaV2Stats LastStats() const;
  // |E[Q_e] - E[target]| averaged over the critics: [B], in units of c.
  torch::Tensor LastTdErrors() const;
  // The reward scale c of the last update (1 before the first).
  double RewardScale() const;
  // The actor's and critics' learning rate at the next update.
  double ActorLr() const;
  double CriticLr() const;

  // ---- Test-only hooks. Parameters by name ("policy.embed.weight" [1, H,
  // obs + 1], ...; "critic.*" with 2 members; "target_critic.*";
  // "log_alpha"), views of the live buffers.
  std::map<std::string, torch::Tensor> ParametersForTesting();
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                         const torch::Tensor& noise);
  // The critics' logits on ([R, obs], [R, A]): [2, R, K].
  torch::Tensor CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action);
  // The actor's output [R, 2A].
  torch::Tensor ActorForTesting(const torch::Tensor& obs);
  // The last update's target distribution [B, K].
  torch::Tensor LastTargetForTesting() const { return last_.target; }
  const HypersphericalShape& actor_shape() const { return actor_.shape; }
  const HypersphericalShape& critic_shape() const { return critic_.shape; }

 private:
  struct Network {
    HypersphericalShape shape;
    FlatLayout layout;
    torch::Tensor params, grad;
  };

  SimbaV2(const SimbaV2Options& options, Network actor, Network critic);

  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise);
  // Merges the batch's largest |reward| into the running one: c.
  absl::StatusOr<torch::Tensor> UpdateRewardScale(const torch::Tensor& reward);
  // The projected target distribution [B, K] for the batch.
  torch::Tensor Target(const TransitionBatch& batch, const torch::Tensor& scale, const torch::Tensor& noise,
                       const torch::Tensor& alpha);
  absl::Status CriticStep(const TransitionBatch& batch, const torch::Tensor& target);
  absl::Status ActorStep(const TransitionBatch& batch, const torch::Tensor& noise, const torch::Tensor& alpha);
  // E[Q] of `logits` [..., K] over the atoms: [...].
  torch::Tensor Mean(const torch::Tensor& logits) const;
  double DecayedLr(double lr) const;
  void RegisterState();

  SimbaV2Options options_;
  Network actor_, critic_;
  torch::Tensor target_critic_;  // flat, critic_'s layout
  torch::Tensor atoms_;          // [K]
  torch::Tensor reward_max_;     // [1], the largest |reward| seen
  Temperature temperature_;
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;
  int64_t updates_ = 0;
  TrainingState state_;

  struct Last {
    torch::Tensor q;          // [E, B] means, units of c
    torch::Tensor target;     // [B, K]
    torch::Tensor ce;         // [E, B]
    torch::Tensor weight;     // [B] or undefined
    torch::Tensor scale;      // [1]
    torch::Tensor log_alpha;  // [1] before the update
    torch::Tensor log_prob;   // [B]
    torch::Tensor actor_loss;
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SIMBAV2_H_
