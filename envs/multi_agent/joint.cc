#include "envs/multi_agent/joint.h"

#include "absl/strings/str_cat.h"

namespace rill::envs {

std::vector<JointSlot> JointLayout(const MultiAgentSpec& spec) {
  std::vector<JointSlot> slots;
  int obs = 0;
  int action = 0;
  for (const EnvSpec& agent : spec.agent_specs) {
    JointSlot slot;
    slot.obs_offset = obs;
    slot.obs_dim = agent.obs_dim();
    slot.action_offset = action;
    slot.action_width = agent.action_dim();
    slot.discrete = agent.discrete;
    slot.masked = agent.discrete && agent.action_mask;
    obs += slot.obs_dim;
    action += slot.action_width;
    slots.push_back(slot);
  }
  return slots;
}

absl::StatusOr<EnvSpec> JointSpec(const MultiAgentSpec& spec) {
  EnvSpec row;
  row.name = spec.name;
  row.max_episode_steps = spec.max_episode_steps;
  row.joint_agents = spec.num_agents();
  int obs = 0;
  for (int k = 0; k < spec.num_agents(); ++k) {
    const EnvSpec& agent = spec.agent_specs[k];
    if (agent.observation_type != ObservationType::kFloat32) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ": agent ", spec.agents[k],
                                                     " observes bytes; a joint row takes float32 observations"));
    }
    obs += agent.obs_dim();
    for (int j = 0; j < agent.action_dim(); ++j) {
      row.action_low.push_back(agent.discrete ? -1.0f : agent.action_low[j]);
      row.action_high.push_back(agent.discrete ? 1.0f : agent.action_high[j]);
    }
  }
  row.observation_shape = {obs};
  return row;
}

}  // namespace rill::envs
