#include "envs/classic/mountain_car_continuous.h"

#include <algorithm>
#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/classic/mountain_car_scene.h"

namespace rill::envs {

EnvSpec MountainCarContinuous::Spec() {
  EnvSpec spec;
  spec.name = "MountainCarContinuous-v0";
  spec.observation_shape = {2};
  spec.discrete = false;
  spec.action_low = {static_cast<float>(kMinAction)};
  spec.action_high = {static_cast<float>(kMaxAction)};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<MountainCarContinuous>> MountainCarContinuous::Create(int max_episode_steps,
                                                                                     uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new MountainCarContinuous(steps, seed));
}

MountainCarContinuous::MountainCarContinuous(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)),
      rng_(seed),
      time_limit_(max_episode_steps),
      car_(kGoalPosition, kGoalVelocity, MountainCarPhysics::Storage::kFloat) {}

void MountainCarContinuous::Reset(float* obs) {
  // Gymnasium's reset state is float64; only later steps store float32.
  car_.Reset(rng_, obs);
  time_limit_.StartEpisode();
}

absl::StatusOr<StepResult> MountainCarContinuous::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const double a = action[0];
  if (std::isnan(a)) return absl::InvalidArgumentError(absl::StrCat(name(), ": throttle is NaN"));
  const double force = std::min(std::max(a, kMinAction), kMaxAction);

  StepResult result;
  result.terminated = car_.Step(force * kPower, next_obs);
  result.reward = static_cast<float>((result.terminated ? 100.0 : 0.0) - a * a * 0.1);
  time_limit_.EndStep(&result);
  return result;
}

void MountainCarContinuous::SetState(double position, double velocity) { car_.SetState(position, velocity); }

std::vector<std::string> MountainCarContinuous::cameras() const { return {"default"}; }

absl::Status MountainCarContinuous::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  DrawMountainCarScene(car_.position(), kGoalPosition, width, height, rgb);
  return absl::OkStatus();
}

}  // namespace rill::envs
