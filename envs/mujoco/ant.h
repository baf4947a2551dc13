// Ant: Gymnasium's Ant-v4 (default options: no contact forces in the
// observation or the reward), a quadruped paid for running along +x. Eight
// torques in [-1, 1]. Observation (27): qpos without the root x and y (13:
// height, orientation quaternion, 8 joint angles), then qvel (14). Reward:
// (torso x after - torso x before) / dt, the torso body frame's x as
// Gymnasium's get_body_com reads it (xpos, computed at the start of the
// last physics step), + 1 (healthy reward, paid on every step, the
// terminating one included) - 0.5 * sum(action^2). Healthy while qpos and
// qvel are finite and the torso height qpos[2] lies in [0.2, 1.0];
// terminated otherwise; truncated after 1000 steps. Reset noise: qpos +
// U(-0.1, 0.1), qvel 0.1 * N(0, 1). frame_skip 5 at a 0.01 s timestep:
// dt = 0.05 s.
// Not thread-safe (see Env); the model is shared (model.h).
#ifndef RILL_ENVS_MUJOCO_ANT_H_
#define RILL_ENVS_MUJOCO_ANT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/specs.h"

namespace rill::envs {

class Ant final : public MujocoEnv {
 public:
  static constexpr char kAsset[] = "ant.xml";
  static constexpr int kDefaultMaxEpisodeSteps = kAntSizes.max_episode_steps;
  static constexpr int kFrameSkip = 5;
  static constexpr double kResetNoiseScale = 0.1;
  static constexpr int kNq = 15;
  static constexpr int kNv = 14;
  static constexpr int kNu = kAntSizes.nu;
  static constexpr int kObsDim = kAntSizes.obs_dim;
  static constexpr double kCtrlCostWeight = 0.5;
  static constexpr double kHealthyReward = 1.0;
  static constexpr double kHealthyMinZ = 0.2;
  static constexpr double kHealthyMaxZ = 1.0;

  // `max_episode_steps`: 0 = 1000. Errors: InvalidArgument if negative;
  // Internal if the embedded model does not compile or has other sizes.
  static absl::StatusOr<std::unique_ptr<Ant>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit (specs.h).
  static EnvSpec Spec();

 private:
  Ant(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed, int torso_body);

  double ForwardPosition() const override;
  double Reward(double x_velocity, const float* action) const override;
  bool Terminated() const override;
  void WriteObs(float* obs) const override;

  // The index of the body named torso, whose frame Reward follows.
  int torso_body_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_ANT_H_
