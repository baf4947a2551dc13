#include "envs/classic/mountain_car.h"

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
    : Env(WithTimeLimit(Spec(), max_episode_steps)),
      rng_(seed),
      time_limit_(max_episode_steps),
      car_(kGoalPosition, kGoalVelocity, MountainCarPhysics::Storage::kDouble) {}

void MountainCar::Reset(float* obs) {
  car_.Reset(rng_, obs);
  time_limit_.StartEpisode();
}

absl::StatusOr<StepResult> MountainCar::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float a = action[0];
  if (a != 0.0f && a != 1.0f && a != 2.0f) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": action must be 0, 1 or 2 (as a float), got ", a));
  }
  const bool reached = car_.Step((static_cast<double>(a) - 1) * kForce, next_obs);

  StepResult result;
  result.reward = -1.0f;
  result.terminated = reached;
  time_limit_.EndStep(&result);
  return result;
}

void MountainCar::SetState(double position, double velocity) { car_.SetState(position, velocity); }

std::vector<std::string> MountainCar::cameras() const { return {"default"}; }

absl::Status MountainCar::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  DrawMountainCarScene(car_.position(), kGoalPosition, width, height, rgb);
  return absl::OkStatus();
}

}  // namespace rill::envs
