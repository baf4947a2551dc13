// The spaces and time limits of the MuJoCo locomotion tasks, as plain data
// and without MuJoCo: the env catalogue (envs/catalog.h) lists them, so
// config finalization knows each task's sizes in a process that links no
// physics (rill-replay). Each task class takes its sizes from here and
// checks at Create that its compiled model has them.
//
// Constants and pure functions; thread-safe.
#ifndef RILL_ENVS_MUJOCO_SPECS_H_
#define RILL_ENVS_MUJOCO_SPECS_H_

#include "envs/spec.h"

namespace rill::envs {

// A locomotion task: a flat observation of `obs_dim` floats and `nu`
// actuators, each controlled in [-control_bound, control_bound].
struct LocomotionSizes {
  const char* name;  // the Gymnasium id
  int obs_dim;
  int nu;
  float control_bound;
  int max_episode_steps;
};

inline constexpr LocomotionSizes kHalfCheetahSizes{"HalfCheetah-v4", /*obs_dim=*/17, /*nu=*/6, /*control_bound=*/1.0f, /*max_episode_steps=*/1000};
inline constexpr LocomotionSizes kHopperSizes{"Hopper-v4", /*obs_dim=*/11, /*nu=*/3, /*control_bound=*/1.0f, /*max_episode_steps=*/1000};
inline constexpr LocomotionSizes kWalker2dSizes{"Walker2d-v4", /*obs_dim=*/17, /*nu=*/6, /*control_bound=*/1.0f, /*max_episode_steps=*/1000};
inline constexpr LocomotionSizes kAntSizes{"Ant-v4", /*obs_dim=*/27, /*nu=*/8, /*control_bound=*/1.0f, /*max_episode_steps=*/1000};
inline constexpr LocomotionSizes kHumanoidSizes{"Humanoid-v4", /*obs_dim=*/376, /*nu=*/17, /*control_bound=*/0.4f, /*max_episode_steps=*/1000};

// The spec of a locomotion task of these sizes.
EnvSpec LocomotionSpec(const LocomotionSizes& sizes);

EnvSpec HalfCheetahSpec();
EnvSpec HopperSpec();
EnvSpec Walker2dSpec();
EnvSpec AntSpec();
EnvSpec HumanoidSpec();

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_SPECS_H_
