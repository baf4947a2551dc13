#include "envs/mujoco/hopper.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::envs {

EnvSpec Hopper::Spec() {
  return HopperSpec();
}

absl::StatusOr<std::unique_ptr<Hopper>> Hopper::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  ASSIGN_OR_RETURN(std::shared_ptr<const MujocoModel> model, SharedMujocoModel(kAsset));
  RETURN_IF_ERROR(CheckMujocoModelSizes(*model, kNq, kNv, kNu));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Hopper(std::move(model), steps, seed));
}

Hopper::Hopper(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed)
    : MujocoEnv(Spec(), std::move(model),
                {/*frame_skip=*/kFrameSkip, /*reset_noise_scale=*/kResetNoiseScale,
                 /*velocity_noise=*/VelocityNoise::kUniform},
                max_episode_steps, seed) {}

double Hopper::ForwardPosition() const {
  return data()->qpos[0];
}

double Hopper::Reward(double x_velocity, const float* action) const {
  return kForwardRewardWeight * x_velocity + kHealthyReward - kCtrlCostWeight * SumOfSquares(action, kNu);
}

bool Hopper::Terminated() const {
  const mjData* d = data();
  // Comparisons written so that a NaN anywhere makes the state unhealthy.
  for (int i = 2; i < kNq; ++i) {
    if (!(-kHealthyStateBound < d->qpos[i] && d->qpos[i] < kHealthyStateBound)) return true;
  }
  for (int i = 0; i < kNv; ++i) {
    if (!(-kHealthyStateBound < d->qvel[i] && d->qvel[i] < kHealthyStateBound)) return true;
  }
  const double z = d->qpos[1], angle = d->qpos[2];
  const bool healthy = kHealthyMinZ < z && -kHealthyAngleBound < angle && angle < kHealthyAngleBound;
  return !healthy;
}

void Hopper::WriteObs(float* obs) const {
  const mjData* d = data();
  for (int i = 1; i < kNq; ++i) *obs++ = static_cast<float>(d->qpos[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(std::clamp(d->qvel[i], -10.0, 10.0));
}

}  // namespace rill::envs
