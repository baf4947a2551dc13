// Policy: the network an actor runs for all its envs in one batched forward,
// built from the parameters the learner publishes. The only part of the
// learner that actors link (with registry.h, which builds a Policy from a
// ParameterSet's PolicySpec): an actor needs to know nothing of the
// algorithm that trains it, and no LibTorch (the forward is BlasMlp's
// sgemm; torch_policy.h adapts a Policy to tensors for the learner side).
//
// Implementations: gaussian.h (SAC), deterministic.h (TD3 / DDPG),
// categorical.h (SAC-discrete).
//
// Thread safety: none; each actor thread owns its own Policy.
#ifndef RILL_POLICIES_INTERFACE_H_
#define RILL_POLICIES_INTERFACE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "policies/spec.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

// What Act fills, row-major, resized to the batch.
struct PolicyOutput {
  // Continuous: [B, action_dim] in the policy's [-1, 1] units.
  std::vector<float> actions;
  // Discrete: [B] action indices.
  std::vector<int64_t> indices;
  // ActWithBehaviour only: what the behaviour policy knew when it acted,
  // what IMPALA's V-trace needs to correct for the lag between the actors'
  // policy and the learner's. log_prob [B]: log mu(a | obs) of the returned
  // actions (for a Gaussian, the density of the pre-tanh action; see
  // gaussian.h). distribution [B, k]: the distribution's parameters;
  // categorical: the logits [B, num_actions]; Gaussian: the means, then the
  // (clamped) log-stds [B, 2 * action_dim].
  std::vector<float> log_prob;
  std::vector<float> distribution;
};

class Policy {
 public:
  virtual ~Policy() = default;

  // What network this is: kind, sizes, exploration noise, action bounds.
  virtual const v1::PolicySpec& spec() const = 0;

  // obs [batch, obs_dim] float32 (the caller guarantees the size) -> the
  // actions in `out` (continuous: `actions`; discrete: `indices`).
  // deterministic: the policy's best action (evaluation, export); otherwise
  // the exploring one (sampled, or with exploration noise).
  virtual void Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) = 0;

  // The exploring action, as Act(obs, batch, false, out), and in `out` what
  // it was drawn from. Unimplemented for a policy without a density
  // (deterministic).
  virtual absl::Status ActWithBehaviour(const float* obs, int64_t batch, PolicyOutput* out) {
    return absl::UnimplementedError(absl::StrCat("a ", spec().kind(), " policy has no action probabilities"));
  }

  // Replaces the parameters with a published set. InvalidArgument naming the
  // tensor when names, dtypes or shapes differ; the old parameters stay then.
  virtual absl::Status LoadParameters(const v1::ParameterSet& params) = 0;
  // The parameters, with this policy's spec.
  virtual absl::StatusOr<v1::ParameterSet> ExportParameters() const = 0;

  // Recurrent policies (spec().lstm_size() > 0): the floats of one row's
  // core state, h then c (2 * lstm_size); 0 for a feed-forward policy.
  int state_size() const { return 2 * spec().lstm_size(); }
  // The core states the next Act or ActWithBehaviour reads and advances in
  // place, [batch, state_size()] row-major, owned by the caller, who zeroes
  // a row at an episode's first step. Null (the default): every row starts
  // from zeros and nothing is written back. Feed-forward policies ignore it.
  void set_state(float* state) { state_ = state; }

 protected:
  float* state_ = nullptr;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_INTERFACE_H_
