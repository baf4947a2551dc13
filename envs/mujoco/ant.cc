#include "envs/mujoco/ant.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::envs {

EnvSpec Ant::Spec() {
  return AntSpec();
}

absl::StatusOr<std::unique_ptr<Ant>> Ant::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  ASSIGN_OR_RETURN(std::shared_ptr<const MujocoModel> model, SharedMujocoModel(kAsset));
  RETURN_IF_ERROR(CheckMujocoModelSizes(*model, kNq, kNv, kNu));
  const int torso = mj_name2id(model->get(), mjOBJ_BODY, "torso");
  if (torso < 0) return absl::InternalError(absl::StrCat("MuJoCo model ", kAsset, " has no body named torso"));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Ant(std::move(model), steps, seed, torso));
}

Ant::Ant(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed, int torso_body)
    : MujocoEnv(Spec(), std::move(model),
                {/*frame_skip=*/kFrameSkip, /*reset_noise_scale=*/kResetNoiseScale,
                 /*velocity_noise=*/VelocityNoise::kNormal},
                max_episode_steps, seed),
      torso_body_(torso_body) {}

double Ant::ForwardPosition() const {
  return data()->xpos[3 * torso_body_ + 0];
}

double Ant::Reward(double x_velocity, const float* action) const {
  return x_velocity + kHealthyReward - kCtrlCostWeight * SumOfSquares(action, kNu);
}

bool Ant::Terminated() const {
  const mjData* d = data();
  for (int i = 0; i < kNq; ++i) {
    if (!std::isfinite(d->qpos[i])) return true;
  }
  for (int i = 0; i < kNv; ++i) {
    if (!std::isfinite(d->qvel[i])) return true;
  }
  const double z = d->qpos[2];
  return !(kHealthyMinZ <= z && z <= kHealthyMaxZ);
}

void Ant::WriteObs(float* obs) const {
  const mjData* d = data();
  for (int i = 2; i < kNq; ++i) *obs++ = static_cast<float>(d->qpos[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(d->qvel[i]);
}

}  // namespace rill::envs
