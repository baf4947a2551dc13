// Hopper: Gymnasium's Hopper-v4, a planar one-legged hopper paid for hopping
// forward without falling. Three torques in [-1, 1]. Observation (11): qpos
// without the root x (5), then qvel clipped to [-10, 10] (6). Reward:
// (x after - x before) / dt + 1 (healthy reward, paid on every step, the
// terminating one included) - 0.001 * sum(action^2). Healthy while every
// entry of (qpos[2:], qvel) lies in (-100, 100), the height qpos[1] > 0.7
// and the torso angle qpos[2] lies in (-0.2, 0.2); terminated otherwise;
// truncated after 1000 steps. Reset noise: U(-0.005, 0.005) on qpos and
// qvel. frame_skip 4 at a 0.002 s timestep: dt = 0.008 s.
// Not thread-safe (see Env); the model is shared (model.h).
#ifndef RILL_ENVS_MUJOCO_HOPPER_H_
#define RILL_ENVS_MUJOCO_HOPPER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/specs.h"

namespace rill::envs {

class Hopper final : public MujocoEnv {
 public:
  static constexpr char kAsset[] = "hopper.xml";
  static constexpr int kDefaultMaxEpisodeSteps = kHopperSizes.max_episode_steps;
  static constexpr int kFrameSkip = 4;
  static constexpr double kResetNoiseScale = 0.005;
  static constexpr int kNq = 6;
  static constexpr int kNv = 6;
  static constexpr int kNu = kHopperSizes.nu;
  static constexpr int kObsDim = kHopperSizes.obs_dim;
  static constexpr double kForwardRewardWeight = 1.0;
  static constexpr double kCtrlCostWeight = 1e-3;
  static constexpr double kHealthyReward = 1.0;
  static constexpr double kHealthyStateBound = 100.0;
  static constexpr double kHealthyMinZ = 0.7;
  static constexpr double kHealthyAngleBound = 0.2;

  // `max_episode_steps`: 0 = 1000. Errors: InvalidArgument if negative;
  // Internal if the embedded model does not compile or has other sizes.
  static absl::StatusOr<std::unique_ptr<Hopper>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit (specs.h).
  static EnvSpec Spec();

 private:
  Hopper(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed);

  double ForwardPosition() const override;
  double Reward(double x_velocity, const float* action) const override;
  bool Terminated() const override;
  void WriteObs(float* obs) const override;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_HOPPER_H_
