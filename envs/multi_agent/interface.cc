#include "envs/multi_agent/interface.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace rill::envs {

absl::Status MultiAgentEnv::CheckStep(const float* const* actions) const {
  if (!started_) return absl::FailedPreconditionError(absl::StrCat(name(), ": Step before the first Reset"));
  if (episode_over()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name(), ": Step after the episode ended (every agent is done; call Reset)"));
  }
  for (int k = 0; k < num_agents(); ++k) {
    if (!live(k)) continue;
    const EnvSpec& agent = spec_.agent_specs[k];
    const std::string& who = spec_.agents[k];
    if (actions[k] == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(name(), ": agent ", who, " is live but has no action"));
    }
    if (agent.discrete) {
      const float index = actions[k][0];
      if (!(index >= 0 && index < agent.num_actions) || index != std::floor(index)) {
        return absl::InvalidArgumentError(absl::StrCat(name(), ": agent ", who, "'s action ", index,
                                                       " is not an index in 0..", agent.num_actions - 1));
      }
      continue;
    }
    for (int j = 0; j < agent.action_dim(); ++j) {
      if (std::isnan(actions[k][j])) {
        return absl::InvalidArgumentError(absl::StrCat(name(), ": agent ", who, "'s action[", j, "] is NaN"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace rill::envs
