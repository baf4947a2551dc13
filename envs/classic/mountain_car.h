// MountainCar: Gymnasium's MountainCar-v0, an underpowered car in a valley
// that must rock back and forth to reach the flag on the right hill. Three
// actions: accelerate left (0), coast (1), accelerate right (2).
// Observation [position, velocity]; reward -1 on every step, the last one
// included; terminated when position >= 0.5 with velocity >= 0; truncated
// after 200 steps.
//
// The car is pushed by (action - 1) * 0.001 a step (MountainCarPhysics
// holds the rest of the dynamics). The state is double (Gymnasium keeps
// float64 here); only the observation is rounded to float. Not thread-safe
// (see Env).
#ifndef RILL_ENVS_CLASSIC_MOUNTAIN_CAR_H_
#define RILL_ENVS_CLASSIC_MOUNTAIN_CAR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/classic/mountain_car_physics.h"
#include "envs/interface.h"
#include "envs/seeded_rng.h"
#include "envs/time_limit.h"

namespace rill::envs {

class MountainCar final : public Env {
 public:
  static constexpr int kDefaultMaxEpisodeSteps = 200;
  static constexpr double kGoalPosition = 0.5;
  static constexpr double kGoalVelocity = 0.0;
  static constexpr double kForce = 0.001;

  // `max_episode_steps`: 0 = 200. Returns InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<MountainCar>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit; the registry's only source.
  static EnvSpec Spec();

  // position ~ U(-0.6, -0.4), velocity = 0.
  void Reset(float* obs) override;
  // action[0] must be 0, 1 or 2 (as a float); anything else ->
  // InvalidArgument.
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;

  // One camera, "default": the scene as Gymnasium's renderer lays it out,
  // stretched to the size asked for.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 30; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

  // For tests and tools: overwrites the state of the open episode without
  // touching the step count. Call after Reset.
  void SetState(double position, double velocity);

 private:
  MountainCar(int max_episode_steps, uint64_t seed);

  SeededRng rng_;
  TimeLimit time_limit_;
  MountainCarPhysics car_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_MOUNTAIN_CAR_H_
