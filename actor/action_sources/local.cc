#include "actor/action_sources/local.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/status_macros.h"

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
    : options_(std::move(options)),
      parameters_(options_.learner_address, options_.max_message_bytes, nullptr, options_.policy,
                  options_.shared_memory),
      policy_(options_.env, options_.seed) {}

absl::Status LocalPolicySource::Refresh() {
  std::optional<parameters::ReceivedParameters> received = parameters_.TakeNewer();
  if (!received.has_value()) return absl::OkStatus();
  if (received->published > absl::UnixEpoch() && options_.parameter_delay_seconds != nullptr) {
    options_.parameter_delay_seconds->Observe(
        std::max(0.0, absl::ToDoubleSeconds(received->received - received->published)));
  }
  RETURN_IF_ERROR(policy_.Load(received->parameters, received->version));
  pool_versions_ = std::move(received->pool_versions);
  loaded_ = std::move(received->parameters);
  if (options_.parameter_version != nullptr) options_.parameter_version->Set(static_cast<double>(policy_.version()));
  return absl::OkStatus();
}

}  // namespace rill::actor
