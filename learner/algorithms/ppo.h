// PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") on
// the unroll path, and APPO (Petrenko et al. 2020, "Sample Factory") when
// the actors do not wait for each version.
//
// The network is IMPALA's (actor_critic.h): a shared MLP (or conv) torso
// with a policy head and a value head, exported to the actors as their
// categorical or Gaussian policy. Continuous actions use the tanh-squashed
// Gaussian, the policy the actors already run without LibTorch
// (policies/gaussian.h): the same head IMPALA and SAC export, so PPO needs
// no new actor-side policy, and the squashing keeps actions inside the
// env's bounds without clipping them after sampling (clipping would make
// the stored log-probabilities those of another action). Its
// log-probabilities are the pre-tanh Gaussian's, whose Jacobian cancels in
// the ratios. By default its log-std is state-independent (one learned
// value per action dimension, as in the PPO paper and CleanRL), exported
// as the head's log-std rows with zero weights: with a state-dependent one,
// HalfCheetah runs collapsed midway when the log-std the head computed for
// newly reached states jumped (policy entropy from 1 to 11 within 100
// batches) and the returns fell below 0; with the state-independent one
// ten seeds ended at 1,321-3,139 (deploy/configs/halfcheetah_ppo.textpb).
//
// One Update on B unrolls of T steps (N = B T steps):
//   1. The network at the batch's start, without autograd, gives V(x_t),
//      V of the bootstrap observations and log pi_old(a_t|x_t).
//   2. Targets (PpoAdvantages): synchronous PPO: GAE(lambda) advantages
//      A_t and returns A_t + V(x_t) (V-trace with ratios 1, which is GAE);
//      APPO: V-trace's targets vs_t with log_rhos = log pi_old - log mu and
//      the advantages r_t + gamma vs_{t+1} - V(x_t) (Sample Factory's).
//   3. `epochs` passes; each shuffles the N steps (a CPU generator seeded
//      from the seed and checkpointed) and cuts them into num_minibatches
//      equal minibatches; each minibatch is one Adam step on (PpoLoss)
//        ratio   = pi(a|x) / mu(a|x)            (mu: behaviour policy)
//        policy  = mean(max(-A ratio, -A clip(ratio, 1 - eps, 1 + eps)))
//        value   = value_cost * 0.5 mean(max((V - R)^2, (V_clip - R)^2))
//                  (V_clip = V_old + clip(V - V_old, +-value_clip_range);
//                  the unclipped term alone when value_clip_range is 0)
//        entropy = -entropy_cost mean(H(pi(.|x)))
//      with A normalised per minibatch when normalize_advantages, the
//      gradient clipped to max_grad_norm in global L2 norm.
//   4. After an epoch whose mean approximate KL to pi_old (mean of
//      (r - 1) - log r, r = pi / pi_old) exceeds target_kl (when > 0), the
//      remaining epochs are skipped.
// MAPPO (Yu et al. 2022, "The Surprising Effectiveness of PPO in
// Cooperative Multi-Agent Games", centralised_value): the rows are agents
// of multi-agent envs sharing the one policy, and V is a separate MLP on
// the env's global state (state_value.h, the unrolls' state column; the
// value of a truncated step's final_state stands in after it), with its
// own Adam and gradient clipping at the same learning rate; the network's
// value head is then unused. The policy and entropy terms train the
// policy network alone, the value term the state value alone (the sum's
// gradient is theirs, each clipped to max_grad_norm on its own, as
// MAPPO's actor and critic are).
// The learning rate decays linearly to 0 over lr_decay_env_steps env steps
// learned (when set), once per batch. In a synchronous run mu is the
// version being trained, so ratio and pi / pi_old start at 1.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_PPO_H_
#define RILL_LEARNER_ALGORITHMS_PPO_H_

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
#include "learner/algorithms/state_value.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/vtrace.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct PpoOptions {
  envs::EnvSpec env;  // discrete: categorical policy; continuous: Gaussian
  std::vector<int> hidden = {64, 64};
  // A convolutional torso before the MLP (image observations); empty: none.
  std::vector<v1::TorsoLayer> torso;
  // LSTM units after the MLP (network.lstm); 0: feed-forward.
  int lstm_size = 0;
  // Continuous actions: one learned log-std per action dimension
  // (ActorCriticOptions::state_independent_log_std); the config's default
  // (learner.ppo.state_independent_log_std) is true.
  bool state_independent_log_std = false;
  int unroll_length = 128;
  double gamma = 0.99;
  double lambda = 0.95;
  double clip_range = 0.2;
  double value_clip_range = 0;  // 0: no value clipping
  bool normalize_advantages = true;
  double value_cost = 0.5;
  double entropy_cost = 0.01;
  int epochs = 4;
  int num_minibatches = 4;  // must divide B x unroll_length
  double target_kl = 0;     // 0: no early stop
  double learning_rate = 3e-4;
  double epsilon = 1e-5;
  int64_t lr_decay_env_steps = 0;  // 0: constant
  double max_grad_norm = 0.5;      // 0: no clipping
  // APPO: V-trace targets (rho_bar, c_bar; lambda above); false: GAE.
  bool vtrace = false;
  double rho_bar = 1.0;
  double c_bar = 1.0;
  // MAPPO: V is an MLP (hidden) on the env's global state (env.state_dim
  // floats, the unrolls' state column); false: the value head.
  bool centralised_value = false;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

// Advantages and value targets of time-major unrolls, all [T, B].
struct PpoTargets {
  torch::Tensor advantages;
  torch::Tensor returns;
  torch::Tensor clipped_rhos;  // V-trace's min(rho_bar, pi / mu); 1 for GAE
};

// GAE(lambda) when `log_rhos` is undefined (V-trace with every ratio 1, and
// advantages vs - V), else APPO's V-trace targets (advantages r + gamma
// vs_next - V, see vtrace.h). `vtrace` gives gamma, lambda, rho_bar and
// c_bar (the latter two ignored for GAE). VTrace's errors.
absl::StatusOr<PpoTargets> PpoAdvantages(const VTraceOptions& vtrace, const torch::Tensor& log_rhos,
                                         const torch::Tensor& rewards, const torch::Tensor& values,
                                         const torch::Tensor& bootstrap_values, const torch::Tensor& terminated,
                                         const torch::Tensor& truncated);

// One minibatch's loss terms (scalars; total carries autograd).
struct PpoLossTerms {
  torch::Tensor policy, value, entropy, total;
  torch::Tensor clip_fraction;  // share of rows whose ratio left [1 - eps, 1 + eps]
};

// The losses of the header comment on rows [M]: `log_pi` and `values` with
// autograd, the others constants. `options` gives clip_range,
// value_clip_range, normalize_advantages, value_cost and entropy_cost.
PpoLossTerms PpoLoss(const PpoOptions& options, const torch::Tensor& log_pi, const torch::Tensor& behaviour_log_prob,
                     const torch::Tensor& advantages, const torch::Tensor& entropy, const torch::Tensor& values,
                     const torch::Tensor& old_values, const torch::Tensor& returns);

// One epoch's minibatches: a permutation of 0..rows-1 drawn from
// `generator`, cut into `num_minibatches` equal int64 index tensors (rows
// divisible by num_minibatches).
std::vector<torch::Tensor> MinibatchIndices(int64_t rows, int num_minibatches, at::Generator& generator);

class Ppo final : public Algorithm {
 public:
  // From a finalized config (learner.ppo, learner.gamma, learner.batch_size,
  // network, env).
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for bad sizes or hyperparameters.
  static absl::StatusOr<std::unique_ptr<Ppo>> Create(const PpoOptions& options);

  const std::string& name() const override;
  // IMPALA's unroll columns (ActorCritic::UnrollColumns); with
  // centralised_value also state [T + 1, S] and final_state [T, S].
  std::vector<ColumnRequirement> Columns() const override;
  // The epochs of minibatch steps on the batch's B unrolls. InvalidArgument
  // naming the column for a missing column, a wrong shape, dtype or device,
  // an action index out of range or a NaN behaviour log-probability, and
  // naming num_minibatches when it does not divide B x T (nothing is
  // changed then); Internal if LibTorch fails. Synchronizes with the device
  // (the batch's checks, and once per epoch when target_kl is set).
  absl::Status Update(const Batch& batch) override;
  // Rows whose behaviour log-probability, rewards or observations are not
  // finite.
  torch::Tensor RefusedRows(const Batch& batch) const override;
  int64_t updates() const override { return updates_; }
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // Losses policy, value, entropy (weighted, as optimized) and total, means
  // over the last batch's minibatches; then policy_entropy, approx_kl (to
  // the policy at the batch's start), clip_fraction, kl (behaviour to
  // learner policy at the batch's start, when the batch had the behaviour
  // distribution), clipped_rho_mean, value_mean, advantage_std (before
  // normalisation), grad_norm (before clipping), epochs (run, after an early
  // stop), learning_rate.
  std::vector<Statistic> Statistics() const override;
  TrainingState& state() override { return state_; }
  // B unrolls of T steps: a forward pass of (T + 1) B rows, then epochs x
  // B T rows forward and backward (truncated steps' extra rows not counted).
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  // The gradient of one minibatch of every step of `batch` (the first
  // epoch's loss with one minibatch), flat: the policy network's
  // parameters, then (centralised_value) the state value's; nothing is
  // stepped. Update's errors. For tests.
  absl::StatusOr<torch::Tensor> Gradient(const Batch& batch);
  // The state value (centralised_value), else null.
  const StateValue* state_value() const { return value_.get(); }

  // The network's parameters by name: live views, for tests.
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const {
    return net_->named_parameters();
  }
  int64_t env_steps_learned() const { return env_steps_learned_; }
  // Adam steps taken (minibatches trained on), counting restored ones.
  int64_t optimizer_steps() const { return optimizer_steps_; }

 private:
  // One Update's batch, time-major, and what the network at the batch's
  // start made of it (the targets every minibatch step trains towards).
  struct Rollout {
    int64_t b = 0, t = 0, n = 0;  // unrolls, steps per unroll, steps
    bool recurrent = false;
    torch::Tensor obs_all;             // [T + 1, B, ...]
    torch::Tensor obs;                 // [N, D], the first T steps
    torch::Tensor states;              // centralised_value: [N, S], the first T steps
    torch::Tensor starts;              // [T + 1, B]
    torch::Tensor core_state;          // recurrent: [B, 2N]
    torch::Tensor actions, behaviour_log_prob;  // rows
    torch::Tensor old_log_pi, old_values, advantages, returns;  // [N]
    torch::Tensor kl, clipped_rhos;
  };

  Ppo(PpoOptions options, std::unique_ptr<ActorCritic> net, std::unique_ptr<StateValue> value);
  double LearningRate() const;
  // The batch as a Rollout, with its targets (steps 1-2 of an Update).
  absl::StatusOr<Rollout> Prepare(const Batch& batch) const;
  // CheckUnrollBatch's checks, and the state columns' with a state value.
  absl::Status CheckBatch(const Batch& batch) const;
  // V of the rollout's time-major states [T1, B, S]: [T1, B] (with
  // autograd), and the values to bootstrap from after each step ([T, B],
  // no autograd) as ActorCritic::BootstrapValues gives them.
  std::pair<torch::Tensor, torch::Tensor> StateValues(const Batch& batch) const;
  // The minibatch loss on the rows (or, recurrent, the unrolls) `picks`,
  // and `rows`: the steps it covers.
  std::pair<PpoLossTerms, PolicyTerms> MinibatchLoss(const Rollout& rollout, const torch::Tensor& picks,
                                                     torch::Tensor* rows) const;
  // One minibatch step on the rows (or, recurrent, the unrolls) `picks`:
  // adds its figures to `sums` and its approximate KL to `epoch_kl`.
  // False when it was skipped for a non-finite loss or gradient.
  absl::StatusOr<bool> MinibatchStep(const Rollout& rollout, const torch::Tensor& picks, double lr,
                                     torch::Tensor& sums, torch::Tensor& epoch_kl);

  PpoOptions options_;
  std::unique_ptr<ActorCritic> net_;
  FlatOptimizer optimizer_;
  std::unique_ptr<StateValue> value_;  // centralised_value only
  std::unique_ptr<FlatOptimizer> value_optimizer_;  // with value_
  at::Generator generator_;  // minibatch shuffles, on the CPU
  int64_t updates_ = 0;
  int64_t optimizer_steps_ = 0;
  int64_t env_steps_learned_ = 0;
  // Minibatch steps skipped for a non-finite loss or gradient, in all.
  int64_t skipped_minibatches_ = 0;
  TrainingState state_;
  // The last update's statistics, on the device (read by Statistics()).
  torch::Tensor last_statistics_;
  bool last_had_kl_ = false;
  double last_learning_rate_ = 0;
  int last_epochs_ = 0;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_PPO_H_
