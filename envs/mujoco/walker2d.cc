#include "envs/mujoco/walker2d.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::envs {

EnvSpec Walker2d::Spec() {
  return Walker2dSpec();
}

absl::StatusOr<std::unique_ptr<Walker2d>> Walker2d::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  ASSIGN_OR_RETURN(std::shared_ptr<const MujocoModel> model, SharedMujocoModel(kAsset));
  RETURN_IF_ERROR(CheckMujocoModelSizes(*model, kNq, kNv, kNu));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Walker2d(std::move(model), steps, seed));
}

Walker2d::Walker2d(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed)
    : MujocoEnv(Spec(), std::move(model),
                {/*frame_skip=*/kFrameSkip, /*reset_noise_scale=*/kResetNoiseScale,
                 /*velocity_noise=*/VelocityNoise::kUniform},
                max_episode_steps, seed) {}

double Walker2d::ForwardPosition() const {
  return data()->qpos[0];
}

double Walker2d::Reward(double x_velocity, const float* action) const {
  return kForwardRewardWeight * x_velocity + kHealthyReward - kCtrlCostWeight * SumOfSquares(action, kNu);
}

bool Walker2d::Terminated() const {
  const double z = data()->qpos[1], angle = data()->qpos[2];
  const bool healthy =
      kHealthyMinZ < z && z < kHealthyMaxZ && -kHealthyAngleBound < angle && angle < kHealthyAngleBound;
  return !healthy;
}

void Walker2d::WriteObs(float* obs) const {
  const mjData* d = data();
  for (int i = 1; i < kNq; ++i) *obs++ = static_cast<float>(d->qpos[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(std::clamp(d->qvel[i], -10.0, 10.0));
}

}  // namespace rill::envs
