// Humanoid: Gymnasium's Humanoid-v4, a 3D biped paid for walking along +x
// without falling. 17 torques in [-0.4, 0.4]. Observation (376): qpos
// without the root x and y (22), qvel (23), then for every body, the world
// included (14), cinert (140), cvel (84), then qfrc_actuator (23) and
// cfrc_ext for every body (84). Reward: 1.25 * (centre-of-mass x after -
// before) / dt, the mass-weighted mean of the bodies' xipos (computed at
// the start of the last physics step), + 5 (healthy reward, paid on every
// step, the terminating one included) - 0.1 * sum(ctrl^2), ctrl the action
// as given. v4 has no contact cost in the reward. Healthy while the torso
// height qpos[2] lies in (1.0, 2.0); terminated otherwise; truncated after
// 1000 steps. Reset noise: U(-0.01, 0.01) on qpos and qvel. frame_skip 5 at
// a 0.003 s timestep: dt = 0.015 s.
// Not thread-safe (see Env); the model is shared (model.h).
#ifndef RILL_ENVS_MUJOCO_HUMANOID_H_
#define RILL_ENVS_MUJOCO_HUMANOID_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/specs.h"

namespace rill::envs {

class Humanoid final : public MujocoEnv {
 public:
  static constexpr char kAsset[] = "humanoid.xml";
  static constexpr int kDefaultMaxEpisodeSteps = kHumanoidSizes.max_episode_steps;
  static constexpr int kFrameSkip = 5;
  static constexpr double kResetNoiseScale = 0.01;
  static constexpr int kNq = 24;
  static constexpr int kNv = 23;
  static constexpr int kNu = kHumanoidSizes.nu;
  static constexpr int kObsDim = kHumanoidSizes.obs_dim;
  static constexpr double kForwardRewardWeight = 1.25;
  static constexpr double kCtrlCostWeight = 0.1;
  static constexpr double kHealthyReward = 5.0;
  static constexpr double kHealthyMinZ = 1.0;
  static constexpr double kHealthyMaxZ = 2.0;
  static constexpr int kNumBodies = 14;

  // `max_episode_steps`: 0 = 1000. Errors: InvalidArgument if negative;
  // Internal if the embedded model does not compile or has other sizes.
  static absl::StatusOr<std::unique_ptr<Humanoid>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit (specs.h).
  static EnvSpec Spec();

 private:
  Humanoid(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed);

  double ForwardPosition() const override;
  double Reward(double x_velocity, const float* action) const override;
  bool Terminated() const override;
  void WriteObs(float* obs) const override;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_HUMANOID_H_
