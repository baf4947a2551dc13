// HalfCheetah: Gymnasium's HalfCheetah-v4, a planar two-legged runner paid
// for its forward speed. Six torques in [-1, 1]. Observation (17): qpos
// without the root x (8), then qvel (9). Reward: (x after - x before) / dt
// - 0.1 * sum(action^2), x the root slider. Never terminates; truncated
// after 1000 steps. Reset noise: qpos + U(-0.1, 0.1), qvel 0.1 * N(0, 1).
// frame_skip 5 at a 0.01 s timestep: dt = 0.05 s.
// Not thread-safe (see Env); the model is shared (model.h).
#ifndef RILL_ENVS_MUJOCO_HALF_CHEETAH_H_
#define RILL_ENVS_MUJOCO_HALF_CHEETAH_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/specs.h"

namespace rill::envs {

class HalfCheetah final : public MujocoEnv {
 public:
  static constexpr char kAsset[] = "half_cheetah.xml";
  static constexpr int kDefaultMaxEpisodeSteps = kHalfCheetahSizes.max_episode_steps;
  static constexpr int kFrameSkip = 5;
  static constexpr double kResetNoiseScale = 0.1;
  static constexpr int kNq = 9;
  static constexpr int kNv = 9;
  static constexpr int kNu = kHalfCheetahSizes.nu;
  static constexpr int kObsDim = kHalfCheetahSizes.obs_dim;
  static constexpr double kForwardRewardWeight = 1.0;
  static constexpr double kCtrlCostWeight = 0.1;

  // `max_episode_steps`: 0 = 1000. Errors: InvalidArgument if negative;
  // Internal if the embedded model does not compile or has other sizes.
  static absl::StatusOr<std::unique_ptr<HalfCheetah>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit (specs.h).
  static EnvSpec Spec();

 private:
  HalfCheetah(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed);

  double ForwardPosition() const override;
  double Reward(double x_velocity, const float* action) const override;
  bool Terminated() const override;
  void WriteObs(float* obs) const override;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_HALF_CHEETAH_H_
