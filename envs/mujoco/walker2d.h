// Walker2d: Gymnasium's Walker2d-v4, a planar biped paid for walking forward
// without falling. Six torques in [-1, 1]. Observation (17): qpos without
// the root x (8), then qvel clipped to [-10, 10] (9). Reward: (x after -
// x before) / dt + 1 (healthy reward, paid on every step, the terminating
// one included) - 0.001 * sum(action^2). Healthy while the height qpos[1]
// lies in (0.8, 2.0) and the torso angle qpos[2] in (-1, 1); terminated
// otherwise; truncated after 1000 steps. Reset noise: U(-0.005, 0.005) on
// qpos and qvel. frame_skip 4 at a 0.002 s timestep: dt = 0.008 s.
// Not thread-safe (see Env); the model is shared (model.h).
#ifndef RILL_ENVS_MUJOCO_WALKER2D_H_
#define RILL_ENVS_MUJOCO_WALKER2D_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/specs.h"

namespace rill::envs {

class Walker2d final : public MujocoEnv {
 public:
  static constexpr char kAsset[] = "walker2d.xml";
  static constexpr int kDefaultMaxEpisodeSteps = kWalker2dSizes.max_episode_steps;
  static constexpr int kFrameSkip = 4;
  static constexpr double kResetNoiseScale = 0.005;
  static constexpr int kNq = 9;
  static constexpr int kNv = 9;
  static constexpr int kNu = kWalker2dSizes.nu;
  static constexpr int kObsDim = kWalker2dSizes.obs_dim;
  static constexpr double kForwardRewardWeight = 1.0;
  static constexpr double kCtrlCostWeight = 1e-3;
  static constexpr double kHealthyReward = 1.0;
  static constexpr double kHealthyMinZ = 0.8;
  static constexpr double kHealthyMaxZ = 2.0;
  static constexpr double kHealthyAngleBound = 1.0;

  // `max_episode_steps`: 0 = 1000. Errors: InvalidArgument if negative;
  // Internal if the embedded model does not compile or has other sizes.
  static absl::StatusOr<std::unique_ptr<Walker2d>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit (specs.h).
  static EnvSpec Spec();

 private:
  Walker2d(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed);

  double ForwardPosition() const override;
  double Reward(double x_velocity, const float* action) const override;
  bool Terminated() const override;
  void WriteObs(float* obs) const override;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_WALKER2D_H_
