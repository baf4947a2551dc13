#include "envs/mujoco/specs.h"

namespace rill::envs {

EnvSpec LocomotionSpec(const LocomotionSizes& sizes) {
  EnvSpec spec;
  spec.name = sizes.name;
  spec.observation_shape = {sizes.obs_dim};
  spec.discrete = false;
  spec.action_low.assign(static_cast<size_t>(sizes.nu), -sizes.control_bound);
  spec.action_high.assign(static_cast<size_t>(sizes.nu), sizes.control_bound);
  spec.max_episode_steps = sizes.max_episode_steps;
  return spec;
}

EnvSpec HalfCheetahSpec() { return LocomotionSpec(kHalfCheetahSizes); }
EnvSpec HopperSpec() { return LocomotionSpec(kHopperSizes); }
EnvSpec Walker2dSpec() { return LocomotionSpec(kWalker2dSizes); }
EnvSpec AntSpec() { return LocomotionSpec(kAntSizes); }
EnvSpec HumanoidSpec() { return LocomotionSpec(kHumanoidSizes); }

}  // namespace rill::envs
