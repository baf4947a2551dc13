#include "envs/classic/mountain_car.h"

#include <algorithm>
#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/classic/mountain_car_scene.h"

namespace rill::envs {

EnvSpec MountainCar::Spec() {
  EnvSpec spec;
  spec.name = "MountainCar-v0";
  spec.observation_shape = {2};
  spec.discrete = true;
  spec.num_actions = 3;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<MountainCar>> MountainCar::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new MountainCar(steps, seed));
}

MountainCar::MountainCar(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), time_limit_(max_episode_steps) {}

void MountainCar::Reset(float* obs) {
  position_ = rng_.Uniform(-0.6, -0.4);
  velocity_ = 0;
  time_limit_.StartEpisode();
  WriteObs(obs);
}

absl::StatusOr<StepResult> MountainCar::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float a = action[0];
  if (a != 0.0f && a != 1.0f && a != 2.0f) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": action must be 0, 1 or 2 (as a float), got ", a));
  }
  velocity_ += (static_cast<double>(a) - 1) * kForce + std::cos(3 * position_) * (-kGravity);
  velocity_ = std::clamp(velocity_, -kMaxSpeed, kMaxSpeed);
  position_ += velocity_;
  position_ = std::clamp(position_, kMinPosition, kMaxPosition);
  if (position_ == kMinPosition && velocity_ < 0) velocity_ = 0;
  WriteObs(next_obs);

  StepResult result;
  result.reward = -1.0f;
  result.terminated = position_ >= kGoalPosition && velocity_ >= kGoalVelocity;
  time_limit_.EndStep(&result);
  return result;
}

void MountainCar::SetState(double position, double velocity) {
  position_ = position;
  velocity_ = velocity;
}

void MountainCar::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

std::vector<std::string> MountainCar::cameras() const { return {"default"}; }

absl::Status MountainCar::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  DrawMountainCarScene(position_, kGoalPosition, width, height, rgb);
  return absl::OkStatus();
}

}  // namespace rill::envs
