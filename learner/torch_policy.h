// The learner's side of policies, in LibTorch: a Policy driven with tensors
// (the inference batcher and tests), the TorchScript export of `rill
// export`, and the squashed-Gaussian log-density the IMPALA learner computes
// for the same actions the actors' GaussianPolicy drew. Actors never link
// this target.
//
// Thread safety: as the Policy used (none); the free functions are
// thread-safe otherwise.
#ifndef RILL_LEARNER_TORCH_POLICY_H_
#define RILL_LEARNER_TORCH_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "policies/interface.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

// PolicyOutput's behaviour as tensors.
struct Behaviour {
  torch::Tensor log_prob;      // [B] float32
  torch::Tensor distribution;  // [B, k] float32
};

// policy.Act on obs [B, obs_dim] (float32 CPU; made contiguous) ->
// continuous [B, action_dim] float32, discrete [B] int64. The caller
// guarantees the shape.
torch::Tensor Act(policies::Policy& policy, const torch::Tensor& obs, bool deterministic);

// policy.ActWithBehaviour likewise, the behaviour in `behaviour`.
absl::StatusOr<torch::Tensor> ActWithBehaviour(policies::Policy& policy, const torch::Tensor& obs, Behaviour* behaviour);

// The deterministic policy as a TorchScript module with no Rill code in it:
// forward(obs: [B, obs_dim]) returns the action in env units ([B,
// action_dim] float32) or, for discrete actions, the action index ([B]
// int64), the argmax among the actions the observation's mask allows for a
// masked categorical policy (PolicySpec.action_mask). Internal if the
// module cannot be built.
//
// What forward takes, so that a Gymnasium env's observation goes in as it
// comes out:
//   - float policies: any float dtype (numpy's float64 included), cast to
//     float32; integer tensors are refused.
//   - uint8 policies (images, spec().observation_dtype() DTYPE_UINT8): the
//     env's uint8 pixels (any integer dtype), scaled by 1/255 inside as the
//     actors do. Float tensors are refused rather than guessed at: [0, 1]
//     and [0, 255] floats would both look plausible, and the wrong guess
//     acts silently on images 255 times too bright or too dark.
//   - a batch [B, obs_dim] ([B, C, H, W] for an image policy), or one
//     observation [obs_dim] ([C, H, W]), which is acted on as a batch of
//     one and gives its action without the batch dimension ([action_dim],
//     or a 0-d index).
//   - a policy on a Dict observation (spec().flat_dim() F > 0) exports
//     forward(obs, flat) (a recurrent one forward(obs, flat, state)): obs
//     its image leaf as above ([B, obs_dim - F] without a torso), flat the
//     flat leaves' floats [B, F] (or [F] with one observation).
//   Any other dtype or shape is refused by an assert whose message names
//   the shapes the policy takes and the one it got.
//
// A recurrent policy (spec().lstm_size() = N > 0) exports
// forward(obs: Tensor, state: Tensor) -> Tuple[Tensor, Tensor]: state is
// the core state [B, 2N] float32, each row h then c (zeros at an episode's
// first step), and the module returns (the action as above, the new state
// [B, 2N]), which the caller passes back at the row's next step. With one
// observation the state may be [2N] too, and comes back so. A state of
// another shape is refused by an assert that names the expected one.
// The module steps exactly as the policy's Act does with set_state.
// A per_agent policy (a joint row's agents, MADDPG's) exports forward(obs)
// on the row's observation [B, obs_dim] (or [obs_dim]), giving the row's
// action [B, action_dim] as PerAgentPolicy acts: each agent's in its slice,
// a categorical agent's as a one-hot; Unimplemented for an agent that is
// not a feed-forward MLP.
absl::StatusOr<torch::jit::Module> ToTorchScript(const policies::Policy& policy);

// Saves the deterministic policy of `params` as TorchScript to `path`
// (loadable by torch.jit.load and torch::jit::load with no Rill code).
// InvalidArgument for a bad ParameterSet, Internal for I/O errors.
absl::Status ExportTorchScript(const v1::ParameterSet& params, const std::string& path);

// A categorical head's `logits` [..., A] with every action that the mask
// in `obs` [..., D] (its last A elements, same leading shape, any dtype)
// forbids set to policies::kMaskedLogit, as the actors' CategoricalPolicy
// does (PolicySpec.action_mask). A row that allows nothing comes back all
// kMaskedLogit: a uniform softmax, finite sums.
torch::Tensor MaskLogits(const torch::Tensor& logits, const torch::Tensor& obs);

// log N(atanh(action); mean, exp(log_std)) summed over the action's
// dimensions: [B, A] each -> [B]; GaussianPolicy's behaviour log_prob (see
// gaussian.h), with autograd.
torch::Tensor SquashedGaussianLogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                                      const torch::Tensor& action);

}  // namespace rill::learner

#endif  // RILL_LEARNER_TORCH_POLICY_H_
