#include "actor/action_sources/local.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "envs/observation.h"
#include "policies/registry.h"

namespace rill::actor {

LocalPolicyOptions FollowLearner(const std::string& learner_address, int64_t max_message_bytes,
                                 const envs::EnvSpec& env, uint64_t seed, prometheus::Histogram* delay_seconds,
                                 prometheus::Gauge* version) {
  LocalPolicyOptions options;
  options.learner_address = learner_address;
  options.max_message_bytes = max_message_bytes;
  options.env = env;
  options.seed = seed;
  options.parameter_delay_seconds = delay_seconds;
  options.parameter_version = version;
  return options;
}

LocalPolicySource::LocalPolicySource(LocalPolicyOptions options)
    : options_(std::move(options)), parameters_(options_.learner_address, options_.max_message_bytes) {}

absl::Status LocalPolicySource::Refresh() {
  std::optional<parameters::ReceivedParameters> received = parameters_.TakeNewer();
  if (!received.has_value()) return absl::OkStatus();
  if (received->published > absl::UnixEpoch() && options_.parameter_delay_seconds != nullptr) {
    options_.parameter_delay_seconds->Observe(
        std::max(0.0, absl::ToDoubleSeconds(received->received - received->published)));
  }
  const envs::EnvSpec& env = options_.env;
  const v1::PolicySpec& spec = received->parameters.policy();
  const bool categorical = spec.kind() == "categorical";
  if (spec.obs_dim() != env.obs_dim() || spec.action_dim() != env.action_dim() || categorical != env.discrete) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter version ", received->version, " is a ", spec.kind(), " policy for obs ", spec.obs_dim(),
        ", actions ", spec.action_dim(), "; ", env.name, " has obs ", env.obs_dim(), ", ",
        env.discrete ? "discrete actions " : "continuous actions ", env.action_dim()));
  }
  absl::Status status;
  if (policy_ == nullptr || policy_->spec().SerializeAsString() != spec.SerializeAsString()) {
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy =
        policies::PolicyFromParameters(received->parameters, options_.seed);
    if (policy.ok()) policy_ = *std::move(policy);
    status = policy.status();
  } else {
    status = policy_->LoadParameters(received->parameters);
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter version ", received->version, " does not fit this actor's policy: ", status.message()));
  }
  version_ = received->version;
  if (options_.parameter_version != nullptr) options_.parameter_version->Set(static_cast<double>(version_));
  return absl::OkStatus();
}

absl::Status LocalPolicySource::Act(const ObservationRows& batch, bool deterministic, bool behaviour,
                                    const absl::Notification& /*stop*/, const ActionBuffers& out) {
  if (policy_ == nullptr) return absl::FailedPreconditionError("no policy version has arrived yet");
  const int rows = batch.rows;
  // The policy's forward takes floats: images scaled by 1/255.
  const float* observations = envs::ObservationsAsFloat(options_.env, batch.data, rows, &float_observations_);
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
