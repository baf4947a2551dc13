#include "envs/mujoco/humanoid.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::envs {

EnvSpec Humanoid::Spec() {
  return HumanoidSpec();
}

absl::StatusOr<std::unique_ptr<Humanoid>> Humanoid::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  ASSIGN_OR_RETURN(std::shared_ptr<const MujocoModel> model, SharedMujocoModel(kAsset));
  RETURN_IF_ERROR(CheckMujocoModelSizes(*model, kNq, kNv, kNu));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Humanoid(std::move(model), steps, seed));
}

Humanoid::Humanoid(std::shared_ptr<const MujocoModel> model, int max_episode_steps, uint64_t seed)
    : MujocoEnv(Spec(), std::move(model),
                {/*frame_skip=*/kFrameSkip, /*reset_noise_scale=*/kResetNoiseScale,
                 /*velocity_noise=*/VelocityNoise::kUniform},
                max_episode_steps, seed) {}

double Humanoid::ForwardPosition() const {
  const mjModel* m = model();
  const mjData* d = data();
  double weighted = 0, mass = 0;
  for (int b = 0; b < m->nbody; ++b) {
    weighted += m->body_mass[b] * d->xipos[3 * b + 0];
    mass += m->body_mass[b];
  }
  return weighted / mass;
}

double Humanoid::Reward(double x_velocity, const float* action) const {
  // Gymnasium's v4 Humanoid charges the control cost on data.ctrl, which
  // holds the action as given.
  return kForwardRewardWeight * x_velocity + kHealthyReward - kCtrlCostWeight * SumOfSquares(action, kNu);
}

bool Humanoid::Terminated() const {
  const double z = data()->qpos[2];
  return !(kHealthyMinZ < z && z < kHealthyMaxZ);
}

void Humanoid::WriteObs(float* obs) const {
  const mjData* d = data();
  for (int i = 2; i < kNq; ++i) *obs++ = static_cast<float>(d->qpos[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(d->qvel[i]);
  for (int i = 0; i < 10 * kNumBodies; ++i) *obs++ = static_cast<float>(d->cinert[i]);
  for (int i = 0; i < 6 * kNumBodies; ++i) *obs++ = static_cast<float>(d->cvel[i]);
  for (int i = 0; i < kNv; ++i) *obs++ = static_cast<float>(d->qfrc_actuator[i]);
  for (int i = 0; i < 6 * kNumBodies; ++i) *obs++ = static_cast<float>(d->cfrc_ext[i]);
}

}  // namespace rill::envs
