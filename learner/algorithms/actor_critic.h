// ActorCritic: the one network of the algorithms that train on unrolls
// (impala.h, ppo.h), with what they share around it: the unroll columns they
// read and their checks, the policy head's log-probabilities, entropy and KL,
// and the bootstrap values after a truncation.
//
// The network: a shared MLP torso (hidden, ReLU) with a policy head
// (categorical logits for a discrete env; the mean and log-std of a
// tanh-squashed Gaussian for a continuous one) and a value head V(x). Torso
// plus policy head is exactly the MLP the actors run (a CategoricalPolicy or
// GaussianPolicy), so it is exported as one. For image observations a
// convolutional torso (TorchTorso) runs first, shared by both heads, and is
// exported with the policy. All parameters live in one flat buffer (a leaf
// for autograd), so that clipping and the optimizer step (flat_optimizer.h)
// are a few element-wise ops over it.
//
// With a recurrent core (lstm_size > 0) an LSTM runs between the MLP's last
// hidden layer (ReLU) and both heads; ForwardUnroll re-runs it over
// time-major unrolls from each unroll's recorded core state, zeroing the
// state where an episode begins inside the unroll, and the policy is
// exported with the core (PolicySpec.lstm_size says the parameter names).
//
// The Gaussian's log-std is the head's second half, or with
// state_independent_log_std only that half's bias (PPO's default).
//
// For the Gaussian the log-probabilities and the entropy are those of the
// pre-tanh Gaussian: tanh's Jacobian cancels in the ratios pi / mu, which is
// all the unroll algorithms use them for.
//
// Thread safety: not thread-safe; the owning algorithm's thread calls it.
#ifndef RILL_LEARNER_ALGORITHMS_ACTOR_CRITIC_H_
#define RILL_LEARNER_ALGORITHMS_ACTOR_CRITIC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/interface.h"
#include "learner/torch_torso.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct ActorCriticOptions {
  envs::EnvSpec env;  // discrete: categorical policy; continuous: Gaussian
  std::vector<int> hidden = {64, 64};
  // A convolutional torso before the MLP (image observations [C, H, W]);
  // empty: none.
  std::vector<v1::TorsoLayer> torso;
  // LSTM units after the MLP; 0: feed-forward.
  int lstm_size = 0;
  // Continuous actions: the Gaussian's log-std is the head's bias alone (one
  // learned value per action dimension, whatever the observation); the
  // head's log-std weight rows start at zero and are never read, and the
  // export writes them as zeros, so the actors' GaussianPolicy runs it
  // unchanged. false: the head's second half, a function of the features.
  bool state_independent_log_std = false;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

// The network over time-major unrolls.
struct UnrollOutputs {
  torch::Tensor head;   // [T1, B, out]
  torch::Tensor value;  // [T1, B]
  // Recurrent only: the core state after each step, before a reset at an
  // episode start ([T1, B, 2N], h then c, no autograd): what the step after
  // a truncation would have gone on from. Undefined for a feed-forward net.
  torch::Tensor states;
};

// log pi(a|x) and the entropy of pi(.|x), one per row.
struct PolicyTerms {
  torch::Tensor log_prob;
  torch::Tensor entropy;
};

class ActorCritic {
 public:
  // InvalidArgument prefixed with `who` ("impala: hidden width 0 must be
  // >= 1") for an env without observations or a usable action space, an
  // empty or non-positive hidden size, or a torso that does not fit the
  // observations; FailedPrecondition for CUDA without a device; Internal if
  // LibTorch fails. Parameters are initialised as torch.nn.Linear's, drawn
  // on the CPU from options.seed, with the policy head 100x smaller.
  static absl::StatusOr<std::unique_ptr<ActorCritic>> Create(const ActorCriticOptions& options,
                                                             const std::string& who);

  // The network on rows [N, obs_dim] (float32): policy head [N, out] and
  // value [N], with autograd into params(). A discrete head's logits are
  // masked by the observations' action mask where the env has one
  // (MaskLogits), here and in ForwardUnroll.
  // Feed-forward networks only.
  std::pair<torch::Tensor, torch::Tensor> Forward(const torch::Tensor& obs) const;

  // The network on time-major unrolls `obs` [T1, B, obs_dim] (float32). A
  // recurrent one starts each unroll b from core_state[b] ([B, 2N], h then
  // c) and zeroes the state before obs[t] where starts[t] ([T1, B], 1 or 0)
  // is 1; a feed-forward one ignores both (they may be undefined).
  UnrollOutputs ForwardUnroll(const torch::Tensor& obs, const torch::Tensor& starts,
                              const torch::Tensor& core_state) const;
  // Where obs[t] of time-major unrolls begins an episode: [T + 1, B], 0 at
  // t = 0 (the recorded core state already is the step's), then
  // terminated[t - 1] or truncated[t - 1] ([T, B] each).
  static torch::Tensor EpisodeStarts(const torch::Tensor& terminated, const torch::Tensor& truncated);

  // Log-probabilities of `actions` ([..., ] int64 for a discrete env, [...,
  // action_dim] float32 for a continuous one) and entropies under the policy
  // heads `head` ([..., out]); both [...].
  PolicyTerms Evaluate(const torch::Tensor& head, const torch::Tensor& actions) const;
  // Mean KL(mu || pi) of the behaviour distributions in `batch` (its
  // behaviour_logits, or behaviour_mean and behaviour_log_std, transposed to
  // `head`'s [T, B, ...] layout by `time_major`) against `head`; undefined
  // when the batch does not carry them. No autograd.
  torch::Tensor BehaviourKl(const torch::Tensor& head, const Batch& batch,
                            torch::Tensor (*time_major)(const torch::Tensor&)) const;

  // The columns an unroll algorithm reads, for unrolls of `t` steps: obs,
  // action, reward, terminated, truncated, final_obs, behaviour_log_prob;
  // optional behaviour_logits (discrete) or behaviour_mean and
  // behaviour_log_std (continuous).
  std::vector<ColumnRequirement> UnrollColumns(int t) const;
  // InvalidArgument naming the column for a missing column, a wrong shape,
  // dtype or device, an action index out of range or a NaN behaviour
  // log-probability. Observations must already be float32
  // (FloatObservationColumns). Synchronizes with the device.
  absl::Status CheckUnrollBatch(const Batch& batch, int t) const;
  // Rows whose behaviour log-probability, rewards or observations are not
  // finite; undefined for a malformed batch (the update names the column).
  static torch::Tensor NonFiniteUnrollRows(const Batch& batch);
  // `batch` with its uint8 obs and final_obs as float32 / 255 (a packed
  // row's flat leaves as their float32s, FloatObservations).
  Batch FloatObservationColumns(const Batch& batch) const;

  // V of the observation after each step of time-major unrolls: `next`
  // ([T, B], V(x_{t+1})) except after a truncation, where the value of the
  // episode's real final observation (`final_obs`, [T, B, obs_dim]) stands
  // in, as value_std * V + value_mean. A recurrent network evaluates it from
  // the core state the truncated step left (`states`, UnrollOutputs::states,
  // [T + 1, B, 2N]; undefined for a feed-forward one). No autograd;
  // synchronizes with the device (the gather of the truncated steps).
  torch::Tensor BootstrapValues(const torch::Tensor& next, const torch::Tensor& truncated,
                                const torch::Tensor& final_obs, const torch::Tensor& value_mean,
                                const torch::Tensor& value_std, const torch::Tensor& states = {}) const;

  // The torso and policy head as the actors' policy (a PolicySpec naming
  // the categorical or Gaussian MLP and the torso).
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const;

  // Matmul FLOPs of a forward pass of `rows` observations through torso and
  // both heads, and of a forward and backward pass (weight and input
  // gradients).
  int64_t ForwardFlops(int64_t rows) const;
  int64_t ForwardBackwardFlops(int64_t rows) const;

  // The flat leaf (requires grad) and its data (no grad).
  const torch::Tensor& params() const { return params_; }
  torch::Tensor data() const { return params_.detach(); }
  // The parameters by name (policy.torso.*, policy.layers.<l>.*,
  // baseline.*): live views into params().
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const { return named_; }
  // The value head's last layer (live views), for PopArt's rescaling.
  torch::Tensor& value_weight() { return named_[baseline_index_].second; }
  torch::Tensor& value_bias() { return named_[baseline_index_ + 1].second; }

  const envs::EnvSpec& env() const { return options_.env; }
  int64_t obs_dim() const { return obs_dim_; }
  int64_t action_width() const { return action_width_; }  // discrete: num_actions; continuous: action_dim
  int64_t head_outputs() const { return head_outputs_; }  // discrete: num_actions; continuous: 2 * action_dim
  int lstm_size() const { return options_.lstm_size; }
  bool recurrent() const { return options_.lstm_size > 0; }
  // A continuous env's Gaussian with options.state_independent_log_std.
  bool state_independent_log_std() const { return options_.state_independent_log_std && !options_.env.discrete; }

 private:
  // `head` [..., A] masked by `obs` [..., obs_dim] when the env has an
  // action mask; itself otherwise.
  torch::Tensor Masked(const torch::Tensor& head, const torch::Tensor& obs) const;
  explicit ActorCritic(ActorCriticOptions options);

  // named_[i] as a view of params_ (with autograd).
  torch::Tensor Param(size_t i) const;
  // The MLP's output for rows [N, obs_dim]: the last hidden layer's
  // (ReLU'd) for a recurrent network, otherwise the features both heads
  // read. With autograd.
  torch::Tensor Features(const torch::Tensor& obs) const;
  // One LSTM step of rows `x` ([N, 4N] input gates already computed) from
  // state (h, c), returning the new (h, c).
  std::pair<torch::Tensor, torch::Tensor> LstmStep(const torch::Tensor& input_gates, const torch::Tensor& h,
                                                   const torch::Tensor& c, const torch::Tensor& w_hh) const;
  // The width the MLP reads: the observation's, or the torso's features
  // and the flat leaves beside them.
  int64_t MlpInput() const { return torso_.empty() ? obs_dim_ : torso_.out_dim() + options_.env.flat_dim; }
  // The heads on features [N, width]: policy head [N, out], value [N].
  std::pair<torch::Tensor, torch::Tensor> Heads(const torch::Tensor& features) const;

  ActorCriticOptions options_;
  int64_t obs_dim_ = 0;
  int64_t action_width_ = 0;
  int64_t head_outputs_ = 0;
  torch::Tensor params_;  // flat leaf, requires grad
  std::vector<std::pair<std::string, torch::Tensor>> named_;  // views into params_
  std::vector<int64_t> offsets_;  // of each named_ tensor in params_
  TorchTorso torso_;           // empty without options_.torso
  int torso_tensors_ = 0;      // the torso's entries at the start of named_
  int num_hidden_ = 0;         // MLP hidden layers
  int lstm_index_ = -1;        // named_ index of policy.lstm.weight_ih; -1: none
  int head_index_ = 0;         // named_ index of the policy head's weight
  int baseline_index_ = 0;     // named_ index of baseline.weight
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_ACTOR_CRITIC_H_
