// Policy: the network an actor runs for all its envs in one batched forward,
// built from the parameters the learner publishes. The only part of the
// learner that actors link (with registry.h, which builds a Policy from a
// ParameterSet's PolicySpec): an actor needs to know nothing of the
// algorithm that trains it.
//
// Implementations: gaussian.h (SAC), deterministic.h (TD3 / DDPG),
// categorical.h (SAC-discrete).
//
// Thread safety: none; each actor thread owns its own Policy.
#ifndef RILL_LEARNER_POLICIES_INTERFACE_H_
#define RILL_LEARNER_POLICIES_INTERFACE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "proto/parameters.pb.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace rill::learner {

// Names of the observation normaliser's tensors, the last two of a
// ParameterSet whose PolicySpec has observation_clip > 0 ([obs_dim] each).
inline constexpr char kObsNormMeanName[] = "obs_norm.mean";
inline constexpr char kObsNormStdName[] = "obs_norm.std";

// What the behaviour policy knew when it acted: what IMPALA's V-trace needs
// to correct for the lag between the actors' policy and the learner's.
struct Behaviour {
  // [B] float32: log mu(a | obs) of the returned actions (for a Gaussian, the
  // density of the pre-tanh action; see gaussian.h).
  torch::Tensor log_prob;
  // [B, k] float32: the distribution's parameters. Categorical: the logits
  // [B, num_actions]; Gaussian: the means, then the (clamped) log-stds
  // [B, 2 * action_dim].
  torch::Tensor distribution;
};

class Policy {
 public:
  virtual ~Policy() = default;

  // What network this is: kind, sizes, exploration noise, action bounds.
  virtual const v1::PolicySpec& spec() const = 0;

  // obs [B, obs_dim] float32 CPU ->
  //   continuous: [B, action_dim] float32 in the policy's [-1, 1] units;
  //   discrete:   [B] int64 action indices.
  // deterministic: the policy's best action (evaluation, export); otherwise
  // the exploring one (sampled, or with exploration noise). No autograd.
  // The caller guarantees the shape (a mismatch is a programming error in
  // the actor and throws c10::Error).
  virtual torch::Tensor Act(const torch::Tensor& obs, bool deterministic) = 0;

  // The exploring action, as Act(obs, false), and in `behaviour` what it was
  // drawn from. Unimplemented for a policy without a density (deterministic).
  virtual absl::StatusOr<torch::Tensor> ActWithBehaviour(const torch::Tensor& obs, Behaviour* behaviour) {
    return absl::UnimplementedError(absl::StrCat("a ", spec().kind(), " policy has no action probabilities"));
  }

  // Replaces the parameters with a published set. InvalidArgument naming the
  // tensor when names or shapes differ; the old parameters stay then.
  virtual absl::Status LoadParameters(const v1::ParameterSet& params) = 0;
  // The parameters, with this policy's spec.
  virtual absl::StatusOr<v1::ParameterSet> ExportParameters() const = 0;

  // The deterministic policy as a TorchScript module with no Rill code in
  // it: forward(obs: float32 [B, obs_dim]) returns the action in env units
  // ([B, action_dim] float32) or, for discrete actions, the action index
  // ([B] int64). Internal if the module cannot be built.
  virtual absl::StatusOr<torch::jit::Module> ToTorchScript() const = 0;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_POLICIES_INTERFACE_H_
