#include "envs/mujoco/half_cheetah.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::envs {

EnvSpec HalfCheetah::Spec() {
  return HalfCheetahSpec();
}

absl::StatusOr<std::unique_ptr<HalfCheetah>> HalfCheetah::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  ASSIGN_OR_RETURN(std::shared_ptr<const MujocoModel> model, SharedMujocoModel(kAsset));
  RETURN_IF_ERROR(CheckMujocoModelSizes(*model, kNq, kNv, kNu));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new HalfCheetah(std::move(model), steps, seed));
}

HalfCheetah::HalfCheetah(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed)
    : MujocoEnv(Spec(), std::move(model),
                {/*frame_skip=*/kFrameSkip, /*reset_noise_scale=*/kResetNoiseScale,
                 /*velocity_noise=*/VelocityNoise::kNormal},
                max_episode_steps, seed) {}

double HalfCheetah::ForwardPosition() const {
  return data()->qpos[0];
}

double HalfCheetah::Reward(double x_velocity, const float* action) const {
  return kForwardRewardWeight * x_velocity - kCtrlCostWeight * SumOfSquares(action, kNu);
}

bool HalfCheetah::Terminated() const {
  return false;
}

void HalfCheetah::WriteObs(float* obs) const {
  const mjData* d = data();
  for (int i = 1; i < kNq; ++i) *obs++ = static_cast<float>(d->qpos[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(d->qvel[i]);
}

}  // namespace rill::envs
