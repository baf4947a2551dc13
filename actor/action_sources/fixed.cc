#include "actor/action_sources/fixed.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "envs/observation.h"
#include "policies/registry.h"

namespace rill::actor {

FixedPolicySource::FixedPolicySource(envs::EnvSpec env, uint64_t seed) : env_(std::move(env)), seed_(seed) {}

absl::Status FixedPolicySource::Load(const v1::ParameterSet& parameters, int64_t version) {
  const v1::PolicySpec& spec = parameters.policy();
  absl::StatusOr<policies::PolicyKind> kind = policies::KindOf(spec);
  if (!kind.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter version ", version, " is not a usable policy: ", kind.status().message()));
  }
  const bool categorical = policies::IsDiscrete(*kind);
  if (spec.obs_dim() != env_.obs_dim() || spec.flat_dim() != env_.flat_dim || spec.action_dim() != env_.action_dim() ||
      categorical != env_.discrete) {
    auto obs = [](int dim, int flat) { return flat > 0 ? absl::StrCat(dim, " (", flat, " flat)") : absl::StrCat(dim); };
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter version ", version, " is a ", spec.kind(), " policy for obs ", obs(spec.obs_dim(), spec.flat_dim()),
        ", actions ", spec.action_dim(), "; ", env_.name, " has obs ", obs(env_.obs_dim(), env_.flat_dim), ", ",
        env_.discrete ? "discrete actions " : "continuous actions ", env_.action_dim()));
  }
  absl::Status status;
  if (policy_ == nullptr || policy_->spec().SerializeAsString() != spec.SerializeAsString()) {
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(parameters, seed_);
    if (policy.ok()) policy_ = *std::move(policy);
    status = policy.status();
  } else {
    status = policy_->LoadParameters(parameters);
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter version ", version, " is not a usable policy: ", status.message()));
  }
  version_ = version;
  return absl::OkStatus();
}

absl::Status FixedPolicySource::Act(const ObservationRows& batch, bool deterministic, bool behaviour,
                                    const absl::Notification& /*stop*/, const ActionBuffers& out) {
  if (policy_ == nullptr) return absl::FailedPreconditionError("no policy version has arrived yet");
  const int rows = batch.rows;
  // The policy's forward takes floats: images scaled by 1/255.
  const float* observations = envs::ObservationsAsFloat(env_, batch.data, rows, &float_observations_);
  const int state_size = policy_->state_size();
  if (out.core_states != nullptr && state_size == 0) {
    return absl::FailedPreconditionError(absl::StrCat("the items record a recurrent policy's core state, but parameter "
                                                      "version ", version_, " is feed-forward"));
  }
  if (state_size > 0) {
    const size_t width = static_cast<size_t>(state_size);
    if (states_.size() != rows * width) states_.assign(rows * width, 0.f);
    for (int r = 0; r < rows; ++r) {
      if (batch.episode_start != nullptr && batch.episode_start[r] != 0) {
        std::fill_n(&states_[r * width], width, 0.f);
      }
    }
    if (out.core_states != nullptr) {
      if (out.state_width != state_size) {
        return absl::FailedPreconditionError(absl::StrCat("the items record core states of ", out.state_width,
                                                          " floats; the policy's have ", state_size));
      }
      std::copy(states_.begin(), states_.end(), out.core_states);
    }
    policy_->set_state(states_.data());
  }
  if (!deterministic && behaviour) {
    const absl::Status acted = policy_->ActWithBehaviour(observations, rows, &output_);
    if (!acted.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the replay table's items need the behaviour policy: ", acted.message()));
    }
    std::copy(output_.log_prob.begin(), output_.log_prob.end(), out.log_probs);
    std::copy(output_.distribution.begin(), output_.distribution.end(), out.distributions);
  } else {
    policy_->Act(observations, rows, deterministic, &output_);
  }
  if (out.action_dim == 0) {
    std::copy(output_.indices.begin(), output_.indices.end(), out.action_indices);
  } else {
    std::copy(output_.actions.begin(), output_.actions.end(), out.actions);
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
